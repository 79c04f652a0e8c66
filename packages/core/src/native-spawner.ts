import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type ConnectOpts, Socket, type SocketConstructorOpts } from 'node:net';
import type * as Native from '@cgibridge/native';
import { groupAlive, signalGroup } from './child-process-spawner.js';
import type { CgiExit, CgiProcess, CgiSpawner, CgiSpawnOptions } from './spawner.js';

/**
 * The part of `@cgibridge/native` this module uses. Only its types are imported: core has no
 * dependency on the package (an optional peer, required at run time when present).
 */
export type NativeAddon = Pick<typeof Native, 'status' | 'spawnAsync'>;

/** Why {@link loadNativeSpawner} fell back: the addon's own reasons, or the package missing. */
export type NativeUnavailableReason = 'not-installed' | Native.NativeUnavailableReason;

/** The outcome of {@link loadNativeSpawner}: a spawner, or why there is none. */
export type NativeSpawnerLoad =
  | { readonly spawner: CgiSpawner; readonly reason?: undefined; readonly message?: undefined }
  | { readonly spawner?: undefined; readonly reason: NativeUnavailableReason; readonly message: string };

/**
 * The most a script's stdout is read at a time (and so the largest stdout pipe worth asking for):
 * a response paused by a slow client holds a read or two in memory at each stage it passes.
 */
export const STDOUT_READ_MAX = 256 * 1024;

/** Pipe buffer sizes for {@link createNativeSpawner}; each best effort, the kernel's 64 KiB by default. */
export interface NativePipeSizes {
  /** Bytes of pipe buffer for a script's stdin (faster uploads). */
  readonly pipeSize?: number | undefined;
  /**
   * Bytes of pipe buffer for a script's stdout. Its output is then read as much at a time (at
   * most 256 KiB) into one buffer that the spawner's stdout streams share: about half the CPU
   * per byte of a large response.
   */
  readonly stdoutPipeSize?: number | undefined;
}

/** Maps the seam's options to the addon's request: argv[0] is the command, as Node sets it. */
export function toNativeRequest(options: CgiSpawnOptions, sizes: NativePipeSizes = {}): Native.NativeSpawnRequest {
  const limits = options.limits;
  return {
    file: options.command,
    argv: [options.command, ...options.args],
    env: Object.entries(options.env).map(([name, value]) => `${name}=${value}`),
    cwd: options.cwd,
    rlimits: limits && { cpu: limits.cpuSeconds, as: limits.memoryBytes, nproc: limits.processes },
    uid: options.credentials?.uid,
    gid: options.credentials?.gid,
    pipeSize: sizes.pipeSize,
    stdoutPipeSize: sizes.stdoutPipeSize,
  };
}

/**
 * The addon reports the failing call (`execve`); child_process reports
 * `spawn <command>`. The gateway's messages only read `code`, but logs and tests
 * compare shapes, so an exec failure is renamed to Node's; `chdir`, `setuid`,
 * `setrlimit`... stay as they are (child_process cannot tell those apart).
 */
export function asChildProcessError(error: unknown, command: string): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (errno?.syscall !== 'execve') return error;
  return Object.assign(errno, { syscall: `spawn ${command}`, message: `spawn ${command} ${errno.code}` });
}

/**
 * The three fds as Node streams. A net.Socket on a pipe fd is what child_process
 * builds too: destroy() closes the fd, and end() on the writable one closes it once
 * flushed (a pipe cannot be shut down, so the socket closes instead, and the
 * script sees EOF).
 */
function wrapStreams(
  child: Native.NativeChild,
  readBuffer: Buffer | undefined,
): Pick<CgiProcess, 'stdin' | 'stdout' | 'stderr'> {
  const sockets: Socket[] = [];
  try {
    sockets.push(new Socket({ fd: child.stdin, readable: false, writable: true }));
    sockets.push(stdoutSocket(child.stdout, readBuffer));
    sockets.push(new Socket({ fd: child.stderr, readable: true, writable: false }));
  } catch (error) {
    for (const socket of sockets) socket.destroy();
    // The fds no socket took yet are still ours to close.
    for (const fd of [child.stdin, child.stdout, child.stderr].slice(sockets.length)) closeSync(fd);
    throw error;
  }
  const [stdin, stdout, stderr] = sockets as [Socket, Socket, Socket];
  return { stdin, stdout, stderr };
}

/**
 * The stdout stream. With a read buffer, each read takes as much as the pipe holds instead of
 * Node's 64 KiB, and its bytes are copied out at once into a chunk of their own size. One buffer
 * serves every stdout of the spawner: reads run one at a time on the main thread, and nothing
 * keeps a reference to the buffer once the callback has returned.
 */
function stdoutSocket(fd: number, readBuffer: Buffer | undefined): Socket {
  if (readBuffer === undefined) return new Socket({ fd, readable: true, writable: false });
  // Node's Socket takes `onread` (documented for the constructor); its types list it only for connect().
  const options: SocketConstructorOpts & Pick<ConnectOpts, 'onread'> = {
    fd,
    readable: true,
    writable: false,
    onread: {
      buffer: readBuffer,
      // false (a consumer's backpressure) stops the reads until the stream is read again.
      callback: (bytes, buffer) => socket.push(Buffer.from(buffer.subarray(0, bytes))),
    },
  };
  const socket = new Socket(options);
  return socket;
}

/*
 * spawnAsync, not spawn: the vfork window (the child's set-up and exec, ~0.2-0.8 ms)
 * then blocks a pool thread instead of the event loop. Measured on 2 cores: the same
 * rate at concurrency 1, up to twice the rate at 8, 20-40 µs of main thread per spawn
 * instead of 150-800.
 */
async function start(
  addon: NativeAddon,
  options: CgiSpawnOptions,
  sizes: NativePipeSizes,
  readBuffer: Buffer | undefined,
): Promise<CgiProcess> {
  let settle: (exit: CgiExit) => void = () => {};
  const exit = new Promise<CgiExit>((resolve) => {
    settle = resolve;
  });
  const child = await addon.spawnAsync(toNativeRequest(options, sizes), (code, signal) =>
    settle({ code, signal: signal as NodeJS.Signals | null }),
  );
  const { pid } = child;
  let streams: Pick<CgiProcess, 'stdin' | 'stdout' | 'stderr'>;
  try {
    streams = wrapStreams(child, readBuffer);
  } catch (error) {
    // Nobody could talk to it or wait for its output: it must not run on unattended.
    signalGroup(pid, 'SIGKILL');
    throw error;
  }
  return {
    pid,
    ...streams,
    exit,
    killGroup: (signal) => signalGroup(pid, signal),
    groupAlive: () => groupAlive(pid),
  };
}

function unavailable(message: string): Error {
  return Object.assign(new Error(`the native spawner is not usable: ${message}`), {
    code: 'ERR_CGIBRIDGE_NATIVE_UNAVAILABLE',
  });
}

function requireAddon(): NativeAddon {
  return createRequire(import.meta.url)('@cgibridge/native') as NativeAddon;
}

/**
 * The Linux spawner of `@cgibridge/native`: a vfork-style clone instead of the
 * whole-server fork of `child_process`, the exit seen through a pidfd, resource
 * limits and the user switch applied in the child (no `prlimit` program). Same
 * contract as {@link createChildProcessSpawner}: no shell, three pipes, a new session,
 * the script's own PATH, except that a file without a shebang fails with ENOEXEC
 * instead of being run by `/bin/sh`.
 *
 * @param addon the loaded `@cgibridge/native` (default: required now).
 * @throws when `@cgibridge/native` is missing or not usable here; see {@link loadNativeSpawner}.
 * @example
 * ```ts
 * const spawner = createNativeSpawner();
 * const child = await spawner.spawn({ command: '/srv/cgi-bin/hello.sh', args: [], env: { PATH: '/usr/bin:/bin' },
 *   cwd: '/srv/cgi-bin', script: '/srv/cgi-bin/hello.sh' });
 * ```
 */
export function createNativeSpawner(addon: NativeAddon = requireAddon(), sizes: NativePipeSizes = {}): CgiSpawner {
  if (!addon.status.usable) throw unavailable(addon.status.message);
  // Only past the default: Node's own reads take 64 KiB.
  const stdoutBytes = sizes.stdoutPipeSize ?? 0;
  const readBuffer = stdoutBytes > 64 * 1024 ? Buffer.allocUnsafe(Math.min(stdoutBytes, STDOUT_READ_MAX)) : undefined;
  return {
    name: 'native',
    spawn(options: CgiSpawnOptions): Promise<CgiProcess> {
      return start(addon, options, sizes, readBuffer).catch((error: unknown) => {
        throw asChildProcessError(error, options.command);
      });
    },
    async close() {},
  };
}

/**
 * The native spawner if it can run here, else why not (for a start-up log line and
 * a fallback to `child_process`). Never throws: the package may be absent (core
 * does not depend on it), built for another platform, or on a kernel without pidfds.
 *
 * @example
 * ```ts
 * const load = loadNativeSpawner();
 * const spawner = load.spawner ?? createChildProcessSpawner();
 * if (load.spawner === undefined) logger.info(`spawner: child_process (${load.message})`);
 * ```
 */
export function loadNativeSpawner(options: NativePipeSizes = {}): NativeSpawnerLoad {
  let addon: NativeAddon;
  try {
    addon = requireAddon();
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? '';
    return { reason: 'not-installed', message: `@cgibridge/native cannot be loaded (${message})` };
  }
  if (!addon.status.usable) {
    return { reason: (addon.status.reason ?? 'no-addon') as NativeUnavailableReason, message: addon.status.message };
  }
  return { spawner: createNativeSpawner(addon, options) };
}
