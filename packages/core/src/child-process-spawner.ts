import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import type { CgiExit, CgiProcess, CgiResourceLimits, CgiSpawner, CgiSpawnOptions } from './spawner.js';

/** Signals a process group; ESRCH (nothing left) is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is empty.
  }
}

/** Does any process of this group still exist? */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours to signal (a script that changed its user).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${path} ${code}`), { code, syscall, path });
}

/** `prlimit` arguments for the limits, or `[]` (util-linux's prlimit sets them, then execs without a shell). */
export function prlimitArgs(limits: CgiResourceLimits | undefined): string[] {
  if (limits === undefined) return [];
  const args: string[] = [];
  // SIGXCPU at the limit, SIGKILL a second later for a script that ignores it.
  if (limits.cpuSeconds !== undefined) args.push(`--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`);
  if (limits.memoryBytes !== undefined) args.push(`--as=${limits.memoryBytes}`);
  if (limits.processes !== undefined) args.push(`--nproc=${limits.processes}`);
  return args.length === 0 ? [] : [...args, '--'];
}

function wrap(child: ChildProcessWithoutNullStreams): CgiProcess {
  const pid = child.pid as number;
  const exit = new Promise<CgiExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // A failed kill() is reported as an 'error' event; the group is signalled directly instead.
  child.on('error', () => {});
  return {
    pid,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exit,
    killGroup: (signal) => signalGroup(pid, signal),
    groupAlive: () => groupAlive(pid),
  };
}

/**
 * The portable spawner: Node's `child_process.spawn` (which forks the whole server
 * process on Node 20-24). No shell, three pipes, a new session (`detached`), the
 * script's own PATH for the program lookup; resource limits through util-linux `prlimit`.
 */
export function createChildProcessSpawner(): CgiSpawner {
  return {
    name: 'child_process',
    spawn(options: CgiSpawnOptions): Promise<CgiProcess> {
      // libuv reports a missing cwd as ENOENT of the program: tell them apart here.
      if (!statSync(options.cwd, { throwIfNoEntry: false })?.isDirectory()) {
        return Promise.reject(errnoError('ENOENT', 'chdir', options.cwd));
      }
      const limit = prlimitArgs(options.limits);
      const [command, args] =
        limit.length === 0
          ? [options.command, options.args]
          : ['prlimit', [...limit, options.command, ...options.args]];
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
        windowsHide: true,
        ...(options.credentials === undefined ? {} : { uid: options.credentials.uid, gid: options.credentials.gid }),
      });
      if (child.pid !== undefined && child.stdin && child.stdout && child.stderr) return Promise.resolve(wrap(child));
      // No pid: Node emits the reason (ENOENT, EACCES, EMFILE...) as an 'error' event.
      return new Promise((_, reject) => child.once('error', reject));
    },
    async close() {},
  };
}
