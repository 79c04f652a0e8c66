import { spawn } from 'node:child_process';
import type { TargetUser } from './target-user.js';

/** How a checked process ended and what it printed. */
export interface ProcessOutcome {
  /** The first `maxStdout` bytes of its stdout. */
  readonly stdout: Buffer;
  /** All bytes it wrote to stdout. */
  readonly stdoutBytes: number;
  /** The last few KiB of its stderr. */
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** It ran past the time limit and was killed (its whole process group). */
  readonly timedOut: boolean;
  /** Why it could not be started (`ENOENT`, `EACCES`, ...), if it could not. */
  readonly spawnError: string | undefined;
}

/** How to run a check. */
export interface ProcessSpec {
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  /** Run as this user (needs root); `undefined`: as this process. */
  readonly user: TargetUser | undefined;
  readonly maxStdout?: number;
}

const STDERR_TAIL = 8192;
// Grandchildren that left the group may hold the pipes open; do not wait for them forever.
const CLOSE_WAIT_MS = 2000;
const KILL_GRACE_MS = 1000;

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone.
  }
}

/**
 * Runs a command the way the gateway runs a script: no shell, stdin empty, in a process
 * group of its own that is killed (SIGTERM, then SIGKILL) on timeout and swept once the
 * command exits, so nothing it started outlives the check.
 */
export function runProcess(command: string, args: readonly string[], spec: ProcessSpec): Promise<ProcessOutcome> {
  const maxStdout = spec.maxStdout ?? 65536;
  const switchUser = spec.user !== undefined && !spec.user.current && process.getuid?.() === 0;
  return new Promise((resolve) => {
    const child = spawn(command, [...args], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      shell: false,
      ...(switchUser ? { uid: spec.user?.uid, gid: spec.user?.gid } : {}),
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    let stdoutBytes = 0;
    let stderr = '';
    let timedOut = false;
    let spawnError: string | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      signalGroup(child.pid, 'SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ stdout: Buffer.concat(chunks), stdoutBytes, stderr, ...exitOf(exit), timedOut, spawnError });
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (kept < maxStdout) {
        chunks.push(chunk.subarray(0, maxStdout - kept));
        kept += Math.min(chunk.length, maxStdout - kept);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.stdin.on('error', () => {});
    child.stdin.end();
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error.code ?? error.message;
      setImmediate(finish);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // The script is done: whatever it left running in its group goes too.
      signalGroup(child.pid, 'SIGKILL');
      timers.push(setTimeout(finish, CLOSE_WAIT_MS));
    });
    child.on('close', finish);
    timers.push(
      setTimeout(() => {
        timedOut = true;
        signalGroup(child.pid, 'SIGTERM');
        timers.push(setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS));
      }, spec.timeoutMs),
    );
  });
}

function exitOf(exit: { code: number | null; signal: NodeJS.Signals | null }) {
  return { exitCode: exit.code, signal: exit.signal };
}
