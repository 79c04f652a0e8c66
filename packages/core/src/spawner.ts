import type { Readable, Writable } from 'node:stream';

/**
 * Per-script resource limits (Apache's RLimitCPU, RLimitMEM, RLimitNPROC), applied to the
 * script's process before it executes; everything it starts inherits them.
 */
export interface CgiResourceLimits {
  /** RLIMIT_CPU: CPU seconds; the kernel sends SIGXCPU, then SIGKILL. */
  readonly cpuSeconds?: number | undefined;
  /** RLIMIT_AS: bytes of address space. */
  readonly memoryBytes?: number | undefined;
  /** RLIMIT_NPROC: processes of the script's user (not enforced by the kernel for root). */
  readonly processes?: number | undefined;
}

/** The user a script runs as (Node's `uid`/`gid`; supplementary groups are dropped). */
export interface CgiCredentials {
  readonly uid: number;
  readonly gid: number;
}

/** What a {@link CgiSpawner} starts. */
export interface CgiSpawnOptions {
  /** The program: an absolute path, or a name looked up in `env.PATH` (the script's PATH, not the server's). */
  readonly command: string;
  /** Arguments after the program name. */
  readonly args: readonly string[];
  /** The whole environment of the new process. */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory. */
  readonly cwd: string;
  /** The script file itself (real path), whether it is `command` or an argument of an interpreter. */
  readonly script: string;
  readonly limits?: CgiResourceLimits | undefined;
  readonly credentials?: CgiCredentials | undefined;
  /** A warm start was asked for this script's path (`true`) or refused (`false`); `undefined`: by its extension. */
  readonly warm?: boolean | undefined;
}

/** How a process ended: exactly one of `code` and `signal` is set. */
export interface CgiExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A started script: the leader of a new session and process group whose id is its pid,
 * with exactly three pipes for stdio.
 */
export interface CgiProcess {
  readonly pid: number;
  /** Which spawner started it, when a spawner delegates (the warm start: `warm-python` or its cold one's name). */
  readonly spawner?: string | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles once the leader has exited and been reaped (its group may live on). Never rejects. */
  readonly exit: Promise<CgiExit>;
  /** Signals every process of the group; a group already gone is not an error. */
  killGroup(signal: NodeJS.Signals): void;
  /** Whether any process of the group still exists (`kill(-pgid, 0)`). */
  groupAlive(): boolean;
}

/**
 * Starts script processes. The gateway's lifecycle only ever talks to this seam, so a
 * native spawner or a warm interpreter plugs in without touching it.
 */
export interface CgiSpawner {
  /** `child_process`, `native`, `warm-python`...: printed at start-up and in diagnostics. */
  readonly name: string;
  /**
   * Starts a process.
   * @throws an errno error (`code` ENOENT, EACCES, ENOEXEC, EMFILE, EAGAIN...; `syscall`
   *   `chdir` when the working directory is the problem) when nothing was started.
   */
  spawn(options: CgiSpawnOptions): Promise<CgiProcess>;
  /** Stops whatever the spawner keeps running for itself (a zygote); scripts are the pool's business. */
  close(): Promise<void>;
}
