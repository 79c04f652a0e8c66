import type { CgiDebugPage } from './debug-page.js';

/**
 * Every way a CGI request can fail, registered once: the HTTP status it is answered with, the
 * response headers that status needs, and when it happens. The README's table is checked
 * against this registry by a test.
 */
export const CGI_ERRORS = {
  ERR_CGI_BAD_PATH: { status: 400, when: 'malformed percent-encoding or invalid UTF-8 in the path' },
  ERR_CGI_FORBIDDEN_PATH: {
    status: 404,
    when: 'encoded `/` `\\` NUL, `..`, hidden or dot-ended segments, a real path leaving the root',
  },
  ERR_CGI_NOT_FOUND: { status: 404, when: 'no script answers the URL and there is nothing to fall through to' },
  ERR_CGI_BAD_REQUEST: {
    status: 400,
    when: 'invalid `Host` or absolute-form authority, control characters or non-UTF-8 bytes in a header value',
  },
  ERR_CGI_HOST_NOT_ALLOWED: { status: 400, when: 'the `Host` is not in `allowedHosts`' },
  ERR_CGI_BAD_ARGS: { status: 400, when: '`commandArgs` refused an argument' },
  ERR_CGI_FORBIDDEN_SCRIPT: { status: 403, when: '`.bat` / `.cmd`' },
  ERR_CGI_BODY_TIMEOUT: {
    status: 408,
    when: 'a chunked body was not received within `timeout`',
    headers: { Connection: 'close' },
  },
  ERR_CGI_LENGTH_REQUIRED: {
    status: 411,
    when: "chunked body with `chunkedRequests: 'reject'`",
    headers: { Connection: 'close' },
  },
  ERR_CGI_BODY_TOO_LARGE: { status: 413, when: 'body over `maxRequestBody`', headers: { Connection: 'close' } },
  ERR_CGI_CLIENT_GONE: { status: 499, when: 'the client disconnected; only logged' },
  ERR_CGI_BODY_CONSUMED: {
    status: 500,
    when: 'another middleware read the body and kept no usable raw copy',
  },
  ERR_CGI_NOT_EXECUTABLE: { status: 500, when: 'no executable bit and no interpreter for the extension' },
  ERR_CGI_INTERNAL: { status: 500, when: 'a bug or a throwing `env`/`user` function: logged with its stack' },
  ERR_CGI_SPAWN: { status: 502, when: 'any other start failure' },
  ERR_CGI_INTERPRETER_NOT_FOUND: { status: 502, when: 'configured or shebang interpreter missing' },
  ERR_CGI_CRLF_SHEBANG: { status: 502, when: 'shebang line ends in CR (file saved with CRLF)' },
  ERR_CGI_NO_SHEBANG: { status: 502, when: 'executable without `#!` that is not a binary (never handed to `/bin/sh`)' },
  ERR_CGI_NO_HEADERS: { status: 502, when: 'output ended before the empty line ending the headers' },
  ERR_CGI_HEADERS_TOO_LARGE: { status: 502, when: 'header block over `maxResponseHeaderBytes`' },
  ERR_CGI_MALFORMED_HEADER: { status: 502, when: 'not `name: value`, invalid name, control character in a value' },
  ERR_CGI_BAD_STATUS: { status: 502, when: '`Status` not three digits 200–599' },
  ERR_CGI_BAD_CONTENT_LENGTH: { status: 502, when: '`Content-Length` not one integer' },
  ERR_CGI_NO_CONTENT_TYPE: { status: 502, when: 'neither `Content-Type`, `Status` nor `Location`' },
  ERR_CGI_REDIRECT_LOOP: { status: 502, when: 'more than 10 local redirects' },
  ERR_CGI_RESPONSE_LENGTH: {
    status: 502,
    when: 'body shorter than its `Content-Length` (connection aborted), or longer (cut at the declared length)',
  },
  ERR_CGI_BUSY: {
    status: 503,
    when: '`maxConcurrent` reached, or the gateway is shutting down (`close()`)',
    headers: { 'Retry-After': '1' },
  },
  ERR_CGI_SPOOL_FULL: {
    status: 503,
    when: 'spooling a chunked body would pass `spoolBudget`',
    headers: { 'Retry-After': '1', Connection: 'close' },
  },
  ERR_CGI_OUT_OF_RESOURCES: {
    status: 503,
    when: 'the server is out of file descriptors or processes',
    headers: { 'Retry-After': '1' },
  },
  ERR_CGI_TIMEOUT: { status: 504, when: '`timeout` passed (after headers: connection aborted)' },
} as const satisfies Record<string, { status: number; when: string; headers?: Record<string, string> }>;

/**
 * Stable error codes. Each names one way a CGI request can fail; the code never
 * changes once published, so callers may switch on it.
 */
export type CgiErrorCode = keyof typeof CGI_ERRORS;

/**
 * The one error class of cgibridge.
 *
 * Shaped like the errors `finalhandler` (Express) and Koa's `ctx.onerror` already
 * understand: `status`/`statusCode` is the HTTP status to answer with (from the registry,
 * {@link CGI_ERRORS}), and `expose` is `false` for every 5xx so frameworks never show
 * `message` to the client. `message` is written for the operator's log: it names the cause
 * in words a CGI author understands and may contain paths; it is never sent to the client.
 *
 * @example
 * ```ts
 * if (err instanceof CgiError && err.code === 'ERR_CGI_TIMEOUT') metrics.timeouts++;
 * ```
 */
export class CgiError extends Error {
  /** Stable machine-readable code, e.g. `ERR_CGI_TIMEOUT`. */
  readonly code: CgiErrorCode;
  /** HTTP status to answer with (alias: `statusCode`). */
  readonly status: number;
  /** Whether `message` may be shown to the client: `true` only for 4xx. */
  readonly expose: boolean;
  /** Extra response headers the status needs (e.g. `Retry-After` for 503). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Only with the `debug` option, on the public copy of a script's 5xx: the development page to
   * answer with instead of the generic body (`sendCgiError` sends it; so do the adapters).
   */
  declare debugPage?: CgiDebugPage;

  constructor(code: CgiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const entry: { status: number; headers?: Record<string, string> } = CGI_ERRORS[code];
    this.name = 'CgiError';
    this.code = code;
    this.status = entry.status;
    this.expose = entry.status < 500;
    this.headers = entry.headers ?? {};
  }

  /** Same as `status`; for frameworks that read `statusCode`. */
  get statusCode(): number {
    return this.status;
  }
}

/** Wraps anything thrown that is not a CgiError (a bug, a throwing `env` function) as `ERR_CGI_INTERNAL`. */
export function asCgiError(error: unknown): CgiError {
  if (error instanceof CgiError) return error;
  return new CgiError('ERR_CGI_INTERNAL', `internal error: ${(error as Error)?.stack ?? String(error)}`, {
    cause: error,
  });
}
