/**
 * `@cgibridge/native`: an optional Linux spawner for cgibridge. It starts a process
 * with a vfork-style `clone(CLONE_VM | CLONE_VFORK)` instead of the whole-process
 * fork that `child_process.spawn` does on Node 20-24, and watches its exit through a
 * pidfd on the event loop.
 *
 * @example
 * ```js
 * const native = require('@cgibridge/native');
 * if (native.status.usable) {
 *   const child = native.spawn(
 *     { file: 'sh', argv: ['sh', '-c', 'echo hi'], env: ['PATH=/usr/bin:/bin'], cwd: '/tmp' },
 *     (code, signal) => console.log('exited', code, signal),
 *   );
 *   // child.stdin, child.stdout, child.stderr are file descriptors (pipes) now owned by the caller.
 * }
 * ```
 */

/** Why the native path cannot be used. */
export type NativeUnavailableReason =
  /** Not Linux (or `CGIBRIDGE_NATIVE_FAULT=platform`). */
  | 'platform'
  /** No prebuilt addon for this platform and no compiled build (or `CGIBRIDGE_NATIVE_FAULT=no-addon`). */
  | 'no-addon'
  /** The kernel lacks `pidfd_open`/`waitid(P_PIDFD)`, Linux < 5.4 (or `CGIBRIDGE_NATIVE_FAULT=no-pidfd`). */
  | 'no-pidfd'
  /**
   * A trial spawn at load failed: the system refuses `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)`,
   * as qemu-user does (or `CGIBRIDGE_NATIVE_FAULT=no-clone`).
   */
  | 'no-clone';

/**
 * Whether the addon loaded and this kernel can run it, decided once when the package
 * is first required. `CGIBRIDGE_NATIVE_FAULT=platform|no-addon|no-pidfd|no-clone` in the
 * environment at that moment pretends the corresponding failure (for tests).
 */
export type NativeStatus =
  | { readonly usable: true; readonly reason: null; readonly message: string; readonly binding: string }
  | {
      readonly usable: false;
      readonly reason: NativeUnavailableReason;
      /** One line for a log: what is missing and what to do about it. */
      readonly message: string;
      readonly binding: null;
    };

/**
 * Resource limits set in the child before exec, soft and hard alike: `cpu` (RLIMIT_CPU, seconds;
 * the hard limit a second later, so SIGXCPU comes before SIGKILL), `as` (RLIMIT_AS, bytes) and
 * `nproc` (RLIMIT_NPROC, processes of the new user; the kernel does not enforce it for root).
 */
export type NativeResourceLimits = Partial<Record<'cpu' | 'as' | 'nproc', number | undefined>>;

/** What to start. Strings must not contain NUL bytes. */
export interface NativeSpawnRequest {
  /**
   * The program. With a slash it is a path (relative to `cwd`); without one it is
   * searched in the PATH of `env` (not the server's; `/bin:/usr/bin` if `env` has no
   * PATH) with execvp's rules, except that a file the kernel will not execute
   * (ENOEXEC, no shebang) is an error and is never handed to `/bin/sh`.
   */
  readonly file: string;
  /** The whole argument vector, `argv[0]` included. */
  readonly argv: readonly string[];
  /** The whole environment, as `"NAME=value"` strings. */
  readonly env: readonly string[];
  /** The working directory; a missing one fails with `syscall: 'chdir'`. */
  readonly cwd: string;
  readonly rlimits?: NativeResourceLimits | undefined;
  /** Run as this user (`setuid`; needs privilege). Supplementary groups are dropped. */
  readonly uid?: number | undefined;
  /** Run with this group (`setgid`; needs privilege). */
  readonly gid?: number | undefined;
  /**
   * Bytes of pipe buffer for stdin (`F_SETPIPE_SZ`), best effort: an unprivileged user over
   * `/proc/sys/fs/pipe-user-pages-soft` gets smaller pipes. Default: the kernel's (64 KiB).
   */
  readonly pipeSize?: number | undefined;
  /**
   * The same for stdout (stderr keeps the default). Worth it only when the reader reads as
   * much at a time: Node's own reads take at most 64 KiB.
   */
  readonly stdoutPipeSize?: number | undefined;
}

/**
 * A started child: the leader of a new session and process group (pgid == sid ==
 * pid) with exactly three descriptors, all pipes. The three numbers are the
 * parent's ends (close-on-exec, non-blocking), now owned by the caller, who must
 * close them (wrapping each in a `net.Socket({ fd })` does).
 */
export interface NativeChild {
  readonly pid: number;
  /** Write end of the child's stdin. */
  readonly stdin: number;
  /** Read end of the child's stdout. */
  readonly stdout: number;
  /** Read end of the child's stderr. */
  readonly stderr: number;
}

/**
 * Called once, on the thread that spawned, when the child has exited and was reaped:
 * `(code, null)` after an exit, `(null, 'SIGKILL')` after a signal, `(null, null)`
 * only if something else in the process reaped it first (a `waitpid(-1)`).
 */
export type NativeExitCallback = (code: number | null, signal: string | null) => void;

/**
 * A spawn failure: nothing was started and nothing is left open. Shaped like Node's
 * errno errors: `code` (`ENOENT`, `EACCES`, `ENOEXEC`, `ENOTDIR`, `EMFILE`, `EAGAIN`...),
 * negative `errno`, `syscall` (`execve`, `chdir`, `setrlimit`, `setgid`, `setuid`,
 * `setsid`, `dup2`, `pipe2`, `fcntl`, `mmap`, `clone`) and `path` (the `cwd` for
 * `chdir`, the `file` otherwise).
 */
export interface NativeSpawnError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;
}

/** The load status; see {@link NativeStatus}. */
export declare const status: NativeStatus;

/**
 * Starts a process on the calling thread (which the vfork window blocks for about
 * half a millisecond, until the child has exec'd).
 * @throws {@link NativeSpawnError} when nothing was started; a TypeError or RangeError
 *   for a malformed request; an Error with code `ERR_CGIBRIDGE_NATIVE_UNAVAILABLE`
 *   when {@link status} is not usable.
 */
export declare function spawn(request: NativeSpawnRequest, onExit: NativeExitCallback): NativeChild;

/**
 * The same start, with the clone and exec on libuv's thread pool, so the vfork window
 * blocks a pool thread instead of the event loop: 20-40 µs of main thread per spawn
 * instead of 150-800, the same rate at concurrency 1 and up to twice the rate at
 * concurrency 8 on a 2-core machine (see the package README). The one cgibridge uses.
 * @returns a promise of the child, rejected with the errors {@link spawn} throws
 *   (a malformed request too).
 */
export declare function spawnAsync(request: NativeSpawnRequest, onExit: NativeExitCallback): Promise<NativeChild>;
