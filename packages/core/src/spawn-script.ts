import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { CgiError } from './errors.js';
import { quoteForLog } from './logger.js';
import { type CgiScriptMatch, readHead } from './resolve-script.js';

/**
 * Starts a script as RFC 3875 §7 and the SPEC ask: no shell, argv `[script]` or
 * `[interpreter, ...args, script]`, cwd = the script's directory, exactly three
 * pipes (Node opens every other descriptor close-on-exec), in a process group of
 * its own so that a timeout or a disconnect can kill everything it started.
 */
export function spawnScript(
  match: CgiScriptMatch,
  extraArgs: readonly string[],
  env: Record<string, string>,
): ChildProcessWithoutNullStreams {
  return spawn(match.command, [...match.args, ...extraArgs], {
    cwd: dirname(match.filename),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    // POSIX: setsid(), so the child leads a new process group we can signal as one.
    detached: process.platform !== 'win32',
    shell: false,
    windowsHide: true,
  });
}

/**
 * Signals a script's whole process group (the script and everything it started).
 * Returns silently when the group is already gone.
 */
export function signalGroup(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/** Does any process of this group still exist? (POSIX; on Windows: the process.) */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(process.platform === 'win32' ? pgid : -pgid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Explains why a spawn failed, in words a CGI author understands. Looks at the
 * script's first line because the kernel reports a missing shebang interpreter,
 * and one with a trailing CR, as a plain ENOENT.
 */
export async function explainSpawnError(match: CgiScriptMatch, error: NodeJS.ErrnoException): Promise<CgiError> {
  const direct = match.command === match.filename;
  if (!direct) {
    if (error.code === 'ENOENT') {
      return new CgiError(
        'ERR_CGI_INTERPRETER_NOT_FOUND',
        502,
        `interpreter ${quoteForLog(match.command)} not found in PATH`,
        { cause: error },
      );
    }
    return new CgiError(
      'ERR_CGI_SPAWN',
      502,
      `cannot start interpreter ${quoteForLog(match.command)} (${error.code})`,
      {
        cause: error,
      },
    );
  }
  const shebang = await readShebang(match.filename);
  if (shebang?.endsWith('\r')) {
    return new CgiError(
      'ERR_CGI_CRLF_SHEBANG',
      502,
      'the shebang line ends with a carriage return (file saved with CRLF line endings); convert it to LF, e.g. with dos2unix',
      { cause: error },
    );
  }
  if (error.code === 'ENOENT' && shebang !== undefined) {
    const interpreter = shebang.trim().split(/[ \t]/)[0] ?? '';
    return new CgiError(
      'ERR_CGI_INTERPRETER_NOT_FOUND',
      502,
      `interpreter ${quoteForLog(interpreter)} named in the shebang line not found`,
      { cause: error },
    );
  }
  if (error.code === 'EACCES') {
    return new CgiError(
      'ERR_CGI_NOT_EXECUTABLE',
      500,
      'permission denied running the script (is it, and its interpreter, executable?)',
      { cause: error },
    );
  }
  return new CgiError('ERR_CGI_SPAWN', 502, `cannot start the script (${error.code ?? error.message})`, {
    cause: error,
  });
}

async function readShebang(filename: string): Promise<string | undefined> {
  const head = (await readHead(filename, 256))?.toString('latin1');
  if (!head?.startsWith('#!')) return undefined;
  const end = head.indexOf('\n');
  return head.slice(2, end === -1 ? undefined : end);
}
