import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type BigIntStats, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection, Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { groupAlive, signalGroup } from '../child-process-spawner.js';
import { drainStderr } from '../log-stderr.js';
import type { CgiLogger } from '../logger.js';
import type { CgiCredentials, CgiExit, CgiProcess, CgiResourceLimits } from '../spawner.js';
import type { WarmPythonConfig } from './settings.js';

/** The zygote program shipped with the package (`python/` beside `dist/`). */
export const ZYGOTE_PROGRAM = fileURLToPath(new URL('../../python/cgibridge_zygote.py', import.meta.url));

/** What a warm child needs beyond its streams: what a cold start would have given the script. */
export interface ZygoteRequest {
  readonly processName: string;
  /** `false` when the script cannot be a zip archive: the child need not ask zipimport. */
  readonly mayBeZip: boolean;
  readonly argv0: string;
  readonly executable: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Applied by the child after its chdir, before it changes its user (the native spawner's order). */
  readonly limits?: CgiResourceLimits | undefined;
  /** The user the child becomes (supplementary groups dropped) before anything of the script runs. */
  readonly credentials?: CgiCredentials | undefined;
}

/** `starting` until it reports ready; `retiring` serves no new request and stops once its children are reaped. */
export type ZygoteState = 'starting' | 'ready' | 'retiring' | 'gone';

/** [path, inode, mtime in ns, size] as the zygote saw them, or nulls for a path that did not exist. */
type Dependency = [string, string | null, string | null, number | null];

interface ZygoteMessage {
  readonly op: 'ready' | 'pid' | 'fail' | 'exit';
  readonly id?: string;
  readonly pid?: number;
  readonly code?: number;
  readonly signal?: number;
  readonly message?: string;
  /** A refusal a cold start would give too (`setuid` EPERM, `setrlimit`, `execve` EAGAIN...). */
  readonly errno?: number;
  /** The errno's name (`EPERM`). */
  readonly error?: string;
  readonly syscall?: string;
  readonly version?: string;
  readonly shadowable?: string[];
  readonly dependencies?: Dependency[];
  readonly dropped?: string[];
  readonly threads?: number;
}

/** One request between the spawn message and the zygote's last word on it. */
interface Pending {
  onPid(pid: number): void;
  onFail(message: string): void;
  /** The child refused to start, as a cold one would have: the spawn fails with this error. */
  onRefuse(error: NodeJS.ErrnoException): void;
  onExit(exit: CgiExit): void;
  /** Set once the gateway has the process: what to do if the zygote dies under it. */
  orphan?: () => void;
}

const SIGNAL_NAMES = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals] as const),
);

/**
 * The gateway's side of one zygote process: starts it with exactly the base environment,
 * speaks its control protocol (JSON lines on fd 3), connects each request's three stdio streams
 * to its Unix socket, and turns its reports into {@link CgiProcess} objects.
 */
export class Zygote {
  state: ZygoteState = 'starting';
  pid: number | undefined;
  version = '';
  /** Requests sent to it, warm or not. */
  served = 0;
  readyAt = 0;
  /** Top-level module names a file beside a script would shadow. */
  shadowable: ReadonlySet<string> = new Set();
  /**
   * Settles once the process has exited: `true` when that was a failure (it never became
   * ready, crashed, hung), `false` when it was stopped or replaced as planned.
   */
  readonly gone: Promise<boolean>;
  private readonly child: ChildProcess;
  private readonly control: Socket;
  private readonly dir: string;
  private readonly socketPath: string;
  private readonly pending = new Map<string, Pending>();
  private dependencies: Dependency[] = [];
  private checkedAt = 0;
  private staleBecause: string | undefined;
  private readonly startTimer: NodeJS.Timeout;
  private stopping = false;
  private failed = false;

  constructor(
    readonly realPath: string,
    private readonly config: WarmPythonConfig,
    private readonly logger: CgiLogger,
  ) {
    // A private 0700 directory: only this user can reach the socket.
    this.dir = mkdtempSync(join(tmpdir().length > 80 ? '/tmp' : tmpdir(), 'cgibridge-warm-'));
    this.socketPath = join(this.dir, 'zygote.sock');
    this.child = spawn(
      realPath,
      [ZYGOTE_PROGRAM, JSON.stringify({ socket: this.socketPath, preload: config.preload })],
      {
        env: config.baseEnv,
        cwd: '/',
        // 0-2 are socketpairs as a cold script's are (the zygote's sys.stdin/stdout/stderr are
        // what its children inherit); fd 3 is the control channel, and EOF there ends the
        // zygote, so it dies with the gateway.
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
      },
    );
    // Missing only when Node could not even create the pipes (EMFILE): then it closes at once.
    this.control = (this.child.stdio[3] as Socket | null) ?? new Socket();
    this.gone = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.onClose(code, signal);
        resolve(this.failed);
      });
    });
    this.child.on('error', (error) => this.logger.warn(`warm-python: cannot start ${this.realPath}: ${error.message}`));
    this.startTimer = setTimeout(() => this.kill('did not report ready in time'), config.startTimeoutMs);
    this.listen();
    // The zygote must not keep an idle server alive; a request's own sockets do while it runs.
    this.child.unref();
    this.control.unref();
    this.startTimer.unref();
  }

  private listen(): void {
    // Never written or read: they only have to stay open.
    for (const stream of [this.child.stdin, this.child.stdout]) (stream as Socket | null)?.unref?.();
    const stderr = this.child.stderr;
    if (stderr) {
      drainStderr(stderr, (line) => this.logger.warn(`warm-python: zygote ${this.realPath}: ${line}`));
      (stderr as Socket).unref?.();
    }
    let inbox = '';
    this.control.setEncoding('utf8');
    this.control.on('data', (chunk: string) => {
      inbox += chunk;
      let newline = inbox.indexOf('\n');
      while (newline !== -1) {
        let message: ZygoteMessage;
        try {
          message = JSON.parse(inbox.slice(0, newline)) as ZygoteMessage;
        } catch {
          this.kill('sent a malformed report');
          return;
        }
        this.onMessage(message);
        inbox = inbox.slice(newline + 1);
        newline = inbox.indexOf('\n');
      }
    });
    this.control.on('error', () => {});
  }

  private onMessage(message: ZygoteMessage): void {
    if (message.op === 'ready') {
      this.onReady(message);
      return;
    }
    const pending = this.pending.get(message.id ?? '');
    if (pending === undefined) return;
    if (message.op === 'pid') pending.onPid(message.pid as number);
    else if (message.op === 'fail') {
      this.pending.delete(message.id as string);
      if (message.error === undefined) pending.onFail(message.message ?? 'failed');
      else pending.onRefuse(refusal(message));
    } else if (message.op === 'exit') {
      this.pending.delete(message.id as string);
      const signal = message.signal === undefined ? null : (SIGNAL_NAMES.get(message.signal) ?? 'SIGKILL');
      pending.onExit({ code: signal === null ? (message.code ?? null) : null, signal });
    }
    this.stopIfIdle();
    // Waiting for a report keeps the process alive even when the script's own sockets have closed.
    if (this.pending.size === 0) this.control.unref();
  }

  private onReady(message: ZygoteMessage): void {
    clearTimeout(this.startTimer);
    if ((message.threads ?? 1) > 1) {
      this.kill('has more than one thread after preloading: forking it is unsafe');
      return;
    }
    this.pid = message.pid;
    this.version = message.version ?? '';
    this.shadowable = new Set(message.shadowable ?? []);
    this.dependencies = message.dependencies ?? [];
    this.readyAt = Date.now();
    this.checkedAt = this.readyAt;
    if (this.state === 'starting') this.state = 'ready';
    const dropped = message.dropped?.length ? `; not preloaded: ${message.dropped.join(', ')}` : '';
    this.logger.info(
      `warm-python: zygote for ${this.realPath} (Python ${this.version}) ready, pid ${this.pid}${dropped}`,
    );
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    clearTimeout(this.startTimer);
    const expected = this.stopping;
    if (!expected) this.failed = true;
    this.state = 'gone';
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      if (pending.orphan) pending.orphan();
      else pending.onFail('zygote exited');
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (!expected) {
      this.logger.warn(`warm-python: zygote for ${this.realPath} exited (${signal ?? `status ${code}`})`);
    }
  }

  /** Due for replacement: served its requests or its time. */
  due(now: number): boolean {
    return this.served >= this.config.maxRequests || now - this.readyAt >= this.config.maxAgeMs;
  }

  /**
   * The first file the zygote loaded that has changed since (checked at most once per
   * `checkIntervalMs`), or `undefined`.
   */
  stale(now: number): string | undefined {
    if (this.staleBecause !== undefined || now - this.checkedAt < this.config.checkIntervalMs) return this.staleBecause;
    this.checkedAt = now;
    for (const [path, ino, mtimeNs, size] of this.dependencies) {
      let stats: BigIntStats | undefined;
      try {
        stats = statSync(path, { bigint: true, throwIfNoEntry: false });
      } catch {
        stats = undefined;
      }
      const same =
        stats === undefined
          ? ino === null
          : ino !== null &&
            String(stats.ino) === ino &&
            String(stats.mtimeNs) === mtimeNs &&
            Number(stats.size) === size;
      if (!same) {
        this.staleBecause = path;
        break;
      }
    }
    return this.staleBecause;
  }

  /** Stops taking requests; the process ends once every child it forked has been reaped. */
  retire(): void {
    if (this.state === 'gone') return;
    this.state = 'retiring';
    this.stopIfIdle();
  }

  private stopIfIdle(): void {
    if (this.state !== 'retiring' || this.pending.size > 0 || this.stopping) return;
    this.stopping = true;
    this.control.end();
    // A zygote that does not leave on EOF is killed: close() must never hang.
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }

  /**
   * Kills the process now; its running children's groups go too.
   * @param failure - stuck or broken (counts towards the restart backoff), not merely out of time.
   */
  kill(why: string, failure = true): void {
    if (this.state === 'gone') return;
    if (!this.stopping) this.logger.warn(`warm-python: killing the zygote for ${this.realPath}: ${why}`);
    if (!this.stopping && failure) this.failed = true;
    this.stopping = true;
    this.state = 'retiring';
    this.child.kill('SIGKILL');
  }

  /**
   * Runs one request in a forked child.
   * @returns the child, or why it could not be started (then nothing runs: the caller goes cold).
   * @throws an errno error (`setuid` EPERM, `setrlimit`, `spawn` EAGAIN...) when the child
   *   refused to become the script's process, as a cold start would have: nothing ran.
   */
  spawn(request: ZygoteRequest): Promise<CgiProcess | string> {
    const frame = requestFrame(request);
    if (frame === undefined) return Promise.resolve('a NUL byte in its arguments or environment');
    this.served++;
    const id = randomBytes(16).toString('hex');
    const streams = [0, 1, 2].map((n) => {
      // stdin stays writable after the script closes its end, as a pipe would until EPIPE.
      const socket = createConnection({ path: this.socketPath, allowHalfOpen: n === 0 });
      // The request itself follows stdin's tag: only the child reads it, never the zygote.
      socket.write(n === 0 ? Buffer.concat([Buffer.from(id + n), frame]) : id + n);
      return socket;
    });
    // Fed from the start: an empty stream may end before the pid arrives, and an 'end' emitted
    // before the gateway holds the process would be lost.
    const outputs = [buffered(streams[1] as Socket), buffered(streams[2] as Socket)] as const;
    return new Promise((resolve, reject) => {
      let settled = false;
      const giveUp = (why: string | NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const stream of streams) stream.destroy();
        if (typeof why === 'string') resolve(why);
        else reject(why);
      };
      // A stream that never connected never reached the zygote: nothing can have been forked.
      // Later errors are left to the zygote's report (the child may be running already).
      const onError = (error: NodeJS.ErrnoException) => {
        if (streams.some((stream) => stream.connecting)) giveUp(`stream ${error.code ?? error.message}`);
      };
      for (const stream of streams) stream.on('error', onError);
      const timer = setTimeout(() => {
        giveUp('zygote stuck');
        this.kill(`no child within ${this.config.forkTimeoutMs} ms`);
      }, this.config.forkTimeoutMs);
      const pending: Pending = {
        onPid: (pid) => {
          if (settled) {
            // Too late: the request already went cold. Whatever started must not run.
            signalGroup(pid, 'SIGKILL');
            return;
          }
          settled = true;
          clearTimeout(timer);
          streams[0]?.off('error', onError);
          resolve(this.warmProcess(pid, streams[0] as Socket, outputs, pending));
        },
        onFail: giveUp,
        onRefuse: giveUp,
        onExit: () => {},
      };
      this.pending.set(id, pending);
      this.control.ref();
      this.send(id, request);
    });
  }

  /** The control message: the id, and what decides the child's limits and user (nothing secret). */
  private send(id: string, request: ZygoteRequest): void {
    const { limits, credentials } = request;
    const message = {
      op: 'spawn',
      id,
      ...(limits === undefined
        ? {}
        : { limits: { cpu: limits.cpuSeconds, as: limits.memoryBytes, nproc: limits.processes } }),
      ...(credentials === undefined ? {} : { uid: credentials.uid, gid: credentials.gid }),
    };
    this.control.write(`${JSON.stringify(message)}\n`);
  }

  private warmProcess(
    pid: number,
    stdin: Socket,
    [stdout, stderr]: readonly [Readable, Readable],
    pending: Pending,
  ): CgiProcess {
    // Whatever a script writes to its own stdin is dropped (a pipe's read end would refuse it).
    stdin.resume();
    const exit = new Promise<CgiExit>((resolve) => {
      pending.onExit = (status) => {
        // As Node does for a cold child: its stdin goes with it.
        stdin.destroy();
        resolve(status);
      };
    });
    pending.orphan = () => {
      // The zygote died: nobody can report this child's status; it must not outlive that.
      signalGroup(pid, 'SIGKILL');
      pending.onExit({ code: null, signal: 'SIGKILL' });
    };
    return {
      pid,
      stdin,
      stdout,
      stderr,
      exit,
      killGroup: (signal) => signalGroup(pid, signal),
      groupAlive: () => groupAlive(pid),
    };
  }
}

/**
 * The request as the child reads it from its stdin stream: 8 hex digits of length, then its
 * fields NUL-separated (see the zygote's header), as UTF-8 with lone surrogates made U+FFFD as
 * Node makes them for a cold child. It never passes through the zygote, whose memory (freed
 * buffers included) every later child inherits and could read: one request's cookies must not
 * reach another request's script.
 * @returns the frame, or `undefined` when a field holds a NUL (a cold spawn refuses those).
 */
export function requestFrame(request: ZygoteRequest): Buffer | undefined {
  const fields = [
    request.processName,
    request.mayBeZip ? '1' : '0',
    request.argv0,
    request.executable,
    request.cwd,
    String(request.argv.length),
    ...request.argv,
    ...Object.entries(request.env).map(([key, value]) => `${key}=${value}`),
  ];
  if (fields.some((field) => field.includes('\0'))) return undefined;
  const body = Buffer.from(fields.join('\0'));
  return Buffer.concat([Buffer.from(body.length.toString(16).padStart(8, '0')), body]);
}

/** A child's refusal as the errno error the native spawner gives (its caller adds the path). */
function refusal(message: ZygoteMessage): NodeJS.ErrnoException {
  const { error: code, syscall } = message;
  return Object.assign(new Error(`${syscall} ${code}`), { errno: -(message.errno ?? 0), code, syscall });
}

/**
 * A fresh stream fed by the socket from its first byte to its end; destroying it closes the
 * socket. A socket error (none is expected: the script only writes) just ends it.
 */
function buffered(socket: Socket): PassThrough {
  const out = new PassThrough();
  socket.pipe(out);
  socket.on('error', () => {});
  socket.once('close', () => {
    if (!out.writableEnded) out.end();
  });
  out.once('close', () => socket.destroy());
  return out;
}
