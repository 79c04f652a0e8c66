/**
 * Stable error codes. Each names one way a CGI request can fail; the code never
 * changes once published, so callers may switch on it.
 */
export type CgiErrorCode =
  | 'ERR_CGI_BAD_PATH'
  | 'ERR_CGI_NOT_FOUND'
  | 'ERR_CGI_FORBIDDEN_PATH'
  | 'ERR_CGI_BAD_REQUEST'
  | 'ERR_CGI_BAD_ARGS'
  | 'ERR_CGI_BODY_TOO_LARGE'
  | 'ERR_CGI_BODY_CONSUMED'
  | 'ERR_CGI_BODY_TIMEOUT'
  | 'ERR_CGI_LENGTH_REQUIRED'
  | 'ERR_CGI_BUSY'
  | 'ERR_CGI_NOT_EXECUTABLE'
  | 'ERR_CGI_FORBIDDEN_SCRIPT'
  | 'ERR_CGI_SPAWN'
  | 'ERR_CGI_INTERPRETER_NOT_FOUND'
  | 'ERR_CGI_CRLF_SHEBANG'
  | 'ERR_CGI_NO_SHEBANG'
  | 'ERR_CGI_NO_HEADERS'
  | 'ERR_CGI_HEADERS_TOO_LARGE'
  | 'ERR_CGI_MALFORMED_HEADER'
  | 'ERR_CGI_BAD_STATUS'
  | 'ERR_CGI_BAD_CONTENT_LENGTH'
  | 'ERR_CGI_NO_CONTENT_TYPE'
  | 'ERR_CGI_REDIRECT_LOOP'
  | 'ERR_CGI_TIMEOUT'
  | 'ERR_CGI_RESPONSE_LENGTH'
  | 'ERR_CGI_CLIENT_GONE';

/**
 * The one error class of cgibridge.
 *
 * Shaped like the errors `finalhandler` (Express) and Koa's `ctx.onerror` already
 * understand: `status`/`statusCode` is the HTTP status to answer with, and
 * `expose` is `false` for every 5xx so frameworks never show `message` to the client.
 * `message` is written for the operator's log: it names the cause in words a CGI
 * author understands and may contain paths; it is never sent to the client.
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

  constructor(
    code: CgiErrorCode,
    status: number,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CgiError';
    this.code = code;
    this.status = status;
    this.expose = status < 500;
    this.headers = options?.headers ?? {};
  }

  /** Same as `status`; for frameworks that read `statusCode`. */
  get statusCode(): number {
    return this.status;
  }
}
