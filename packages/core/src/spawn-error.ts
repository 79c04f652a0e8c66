import { basename, dirname } from 'node:path';
import { type CgiScriptDiagnosis, checkShebang, explainScriptFailure, nodeFileProbe } from './diagnose-shebang.js';
import { CgiError, type CgiErrorCode } from './errors.js';
import { quoteForLog } from './logger.js';
import { type CgiScriptMatch, readHead } from './resolve-script.js';

const CODES: Partial<Record<CgiScriptDiagnosis['code'], CgiErrorCode>> = {
  'crlf-shebang': 'ERR_CGI_CRLF_SHEBANG',
  'interpreter-not-found': 'ERR_CGI_INTERPRETER_NOT_FOUND',
  'env-command-not-found': 'ERR_CGI_INTERPRETER_NOT_FOUND',
  'relative-interpreter': 'ERR_CGI_INTERPRETER_NOT_FOUND',
  'env-arguments-joined': 'ERR_CGI_INTERPRETER_NOT_FOUND',
  'interpreter-not-executable': 'ERR_CGI_NOT_EXECUTABLE',
  'no-shebang': 'ERR_CGI_NO_SHEBANG',
  'bom-before-shebang': 'ERR_CGI_NO_SHEBANG',
  'empty-shebang': 'ERR_CGI_NO_SHEBANG',
};

/** A diagnosis as the error a request fails with: the problem and its fix, for the log. */
function fromDiagnosis(found: CgiScriptDiagnosis, fallback: CgiErrorCode, cause?: unknown): CgiError {
  return new CgiError(CODES[found.code] ?? fallback, `${found.problem}; ${found.fix}`, { cause });
}

/** What the shebang checks need about the script: its head, and the PATH and directory it runs with. */
async function shebangFacts(match: CgiScriptMatch, pathEnv: string | undefined) {
  const head = await readHead(match.filename, 512);
  const context = { pathEnv, probe: nodeFileProbe, name: basename(match.filename), cwd: dirname(match.filename) };
  return { head, context };
}

/**
 * Explains why a spawn failed, in words a CGI author understands, with the fix. Looks at the
 * script's first line because the kernel reports a missing shebang interpreter, and one with a
 * trailing CR, as a plain ENOENT.
 *
 * @param pathEnv - the `PATH` the script was given (interpreters and `env` search it).
 */
export async function explainSpawnError(
  match: CgiScriptMatch,
  error: NodeJS.ErrnoException,
  pathEnv: string | undefined,
): Promise<CgiError> {
  if (error.code === 'EMFILE' || error.code === 'ENFILE' || error.code === 'EAGAIN' || error.code === 'ENOMEM') {
    const why = `the server is out of file descriptors or processes (${error.code})`;
    return new CgiError('ERR_CGI_OUT_OF_RESOURCES', `cannot start the script: ${why}`, { cause: error });
  }
  if (error.syscall === 'chdir') {
    return new CgiError('ERR_CGI_SPAWN', `cannot start the script: its directory is gone (${error.code})`, {
      cause: error,
    });
  }
  if (match.command !== match.filename) {
    const interpreter = quoteForLog(match.command);
    if (error.code === 'ENOENT') {
      return new CgiError('ERR_CGI_INTERPRETER_NOT_FOUND', `interpreter ${interpreter} not found in PATH`, {
        cause: error,
      });
    }
    return new CgiError('ERR_CGI_SPAWN', `cannot start interpreter ${interpreter} (${error.code})`, { cause: error });
  }
  const { head, context } = await shebangFacts(match, pathEnv);
  const found = head === undefined ? undefined : checkShebang(head, context);
  if (found !== undefined) return fromDiagnosis(found, 'ERR_CGI_SPAWN', error);
  if (error.code === 'EACCES') {
    const why = 'permission denied running the script (is it, and its interpreter, executable?)';
    return new CgiError('ERR_CGI_NOT_EXECUTABLE', why, { cause: error });
  }
  return new CgiError('ERR_CGI_SPAWN', `cannot start the script (${error.code ?? error.message})`, { cause: error });
}

/**
 * Explains a script that ended before its header block, when the reason can be told: `env`
 * exiting 127 for a CRLF shebang or a missing interpreter, a module its interpreter lacks
 * (Python 3.13 has no `cgi`). `undefined` when nothing more than the exit status is known.
 */
export async function explainEarlyEnd(
  match: CgiScriptMatch,
  facts: { pathEnv: string | undefined; exitCode: number | null; stdoutBytes: number; stderr: string },
): Promise<CgiError | undefined> {
  const { head, context } = await shebangFacts(match, facts.pathEnv);
  const found = explainScriptFailure({
    ...context,
    head,
    direct: match.command === match.filename,
    exitCode: facts.exitCode,
    stdoutBytes: facts.stdoutBytes,
    stderr: facts.stderr,
  });
  return found === undefined ? undefined : fromDiagnosis(found, 'ERR_CGI_NO_HEADERS');
}
