import { CgiError } from './errors.js';

/**
 * Turns a query string into command-line arguments the way RFC 3875 §4.4 describes
 * (an "indexed" query: no unencoded `=`, words split on `+`, each percent-decoded),
 * with the safety rules learned from PHP-CGI's argv injection (CVE-2012-1823,
 * CVE-2024-4577): any argument that starts with `-` or holds a non-ASCII byte (the
 * soft hyphen `%AD` among them) refuses the request.
 *
 * @returns the arguments, or `[]` when the query is not an indexed query.
 * @throws CgiError `ERR_CGI_BAD_ARGS` (400).
 */
export function parseCommandArgs(query: string): string[] {
  if (query === '' || query.includes('=')) return [];
  return query.split('+').map((word) => {
    let arg: string;
    try {
      arg = decodeURIComponent(word);
    } catch {
      throw new CgiError('ERR_CGI_BAD_ARGS', 'malformed percent-encoding in a command argument');
    }
    if (arg.startsWith('-')) throw new CgiError('ERR_CGI_BAD_ARGS', 'a command argument starts with "-"');
    if (/[^\x20-\x7e]/.test(arg)) {
      throw new CgiError('ERR_CGI_BAD_ARGS', 'a command argument holds a non-ASCII or control character');
    }
    return arg;
  });
}
