import { CgiError } from './errors.js';
import { quoteForLog } from './logger.js';
import { type CgiScriptMatch, readHead } from './resolve-script.js';

/**
 * Explains why a spawn failed, in words a CGI author understands. Looks at the
 * script's first line because the kernel reports a missing shebang interpreter,
 * and one with a trailing CR, as a plain ENOENT.
 */
export async function explainSpawnError(match: CgiScriptMatch, error: NodeJS.ErrnoException): Promise<CgiError> {
  const direct = match.command === match.filename;
  if (error.code === 'EMFILE' || error.code === 'ENFILE' || error.code === 'EAGAIN' || error.code === 'ENOMEM') {
    return new CgiError(
      'ERR_CGI_OUT_OF_RESOURCES',
      `cannot start the script: the server is out of file descriptors or processes (${error.code})`,
      { cause: error },
    );
  }
  if (error.syscall === 'chdir') {
    return new CgiError('ERR_CGI_SPAWN', `cannot start the script: its directory is gone (${error.code})`, {
      cause: error,
    });
  }
  if (!direct) {
    if (error.code === 'ENOENT') {
      return new CgiError(
        'ERR_CGI_INTERPRETER_NOT_FOUND',
        `interpreter ${quoteForLog(match.command)} not found in PATH`,
        { cause: error },
      );
    }
    return new CgiError('ERR_CGI_SPAWN', `cannot start interpreter ${quoteForLog(match.command)} (${error.code})`, {
      cause: error,
    });
  }
  const shebang = await readShebang(match.filename);
  if (shebang?.endsWith('\r')) {
    return new CgiError(
      'ERR_CGI_CRLF_SHEBANG',
      'the shebang line ends with a carriage return (file saved with CRLF line endings); convert it to LF, e.g. with dos2unix',
      { cause: error },
    );
  }
  if (error.code === 'ENOENT' && shebang !== undefined) {
    const interpreter = shebang.trim().split(/[ \t]/)[0] ?? '';
    return new CgiError(
      'ERR_CGI_INTERPRETER_NOT_FOUND',
      `interpreter ${quoteForLog(interpreter)} named in the shebang line not found`,
      { cause: error },
    );
  }
  if (error.code === 'EACCES') {
    return new CgiError(
      'ERR_CGI_NOT_EXECUTABLE',
      'permission denied running the script (is it, and its interpreter, executable?)',
      { cause: error },
    );
  }
  return new CgiError('ERR_CGI_SPAWN', `cannot start the script (${error.code ?? error.message})`, {
    cause: error,
  });
}

async function readShebang(filename: string): Promise<string | undefined> {
  const head = (await readHead(filename, 256))?.toString('latin1');
  if (!head?.startsWith('#!')) return undefined;
  const end = head.indexOf('\n');
  return head.slice(2, end === -1 ? undefined : end);
}
