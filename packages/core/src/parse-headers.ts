import { CgiError, type CgiErrorCode } from './errors.js';
import { quoteForLog } from './logger.js';

/** A parsed CGI header block, named after RFC 3875 §6.2's response kinds. */
export type CgiResponseHead = CgiLocalRedirectHead | CgiDocumentHead;

/** `Location: /path` and nothing else: the server answers it internally (RFC 3875 §6.2.2). */
export interface CgiLocalRedirectHead {
  readonly kind: 'local-redirect';
  readonly location: string;
}

/** A document (§6.2.1) or a client redirect (§6.2.3, §6.2.4) to send to the client. */
export interface CgiDocumentHead {
  readonly kind: 'document' | 'client-redirect';
  readonly status: number;
  /** Reason phrase from `Status:`, if the script gave one. */
  readonly statusText: string | undefined;
  /** Fields to send, in the script's order, repeated ones kept; `Status` and hop-by-hop fields removed. */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  /** The script's `Content-Length`, when it sent one. */
  readonly contentLength: number | undefined;
}

// RFC 9110 §5.6.2 token; the same test Node applies to outgoing header names.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Node refuses outgoing values with these (RFC 9110 §5.5: no CTL except HTAB).
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
// Framing and connection management belong to the server, not the script.
const STRIPPED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  // Asking a front server to send a file on the script's behalf is never honoured:
  // cgibridge does not, and a proxy in front must not be steered by a script either.
  'x-sendfile',
  'x-sendfile2',
  'x-lighttpd-send-file',
  'x-accel-redirect',
]);
const NPH_STATUS = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/;

function malformed(code: CgiErrorCode, why: string): CgiError {
  return new CgiError(code, why);
}

/**
 * Reads a script's stdout until the end of its header block: the first empty line,
 * with LF or CRLF line ends, mixed allowed (RFC 3875 §6.2). Holds at most
 * `maxBytes` of header; never rescans bytes it has already searched.
 */
export class CgiHeaderReader {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #length = 0;
  #scanned = 0;
  /** Complete lines checked so far, and where the next one starts. */
  #lines = 0;
  #lineStart = 0;
  readonly #nph: boolean;

  /** @param nph - the first line may be an `HTTP/1.x NNN` status line (see {@link parseCgiHeaders}). */
  constructor(maxBytes: number, nph = false) {
    this.#maxBytes = maxBytes;
    this.#nph = nph;
  }

  /** Bytes held so far. */
  get length(): number {
    return this.#length;
  }

  /**
   * Adds a chunk of output.
   * @returns `null` while the block is incomplete; else the block (latin1, so bytes
   *   survive as they are) and what followed it (the start of the body).
   * @throws CgiError `ERR_CGI_HEADERS_TOO_LARGE` or `ERR_CGI_NO_HEADERS`, or
   *   `ERR_CGI_MALFORMED_HEADER` as soon as a complete line is not a header field (a script
   *   that forgot the empty line and then keeps running is reported now, not at its exit).
   */
  push(chunk: Buffer): { block: string; rest: Buffer } | null {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const buffer = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [buffer];
    // An empty line at the very start means an empty header block.
    if (buffer[0] === 0x0a || (buffer[0] === 0x0d && buffer[1] === 0x0a)) {
      throw malformed('ERR_CGI_NO_HEADERS', 'the script printed an empty line before any header');
    }
    let from = this.#scanned;
    for (;;) {
      const lf = buffer.indexOf(0x0a, from);
      if (lf === -1 || lf + 1 >= buffer.length) break;
      let end = -1;
      if (buffer[lf + 1] === 0x0a) end = lf + 2;
      else if (buffer[lf + 1] === 0x0d) {
        if (lf + 2 >= buffer.length) break;
        if (buffer[lf + 2] === 0x0a) end = lf + 3;
      }
      if (end !== -1) {
        if (lf > this.#maxBytes) break;
        this.#chunks = [];
        return { block: buffer.toString('latin1', 0, lf), rest: buffer.subarray(end) };
      }
      from = lf + 1;
    }
    if (this.#length > this.#maxBytes) {
      throw malformed(
        'ERR_CGI_HEADERS_TOO_LARGE',
        `the header block is larger than ${this.#maxBytes} bytes (maxResponseHeaderBytes) or has no end`,
      );
    }
    // Keep the last two bytes in view: they may start the empty line.
    this.#scanned = Math.max(0, buffer.length - 2);
    this.#checkLines(buffer);
    return null;
  }

  /** Checks the lines completed since the last call, each as `parseCgiHeaders` would. */
  #checkLines(buffer: Buffer): void {
    for (let lf = buffer.indexOf(0x0a, this.#lineStart); lf !== -1; lf = buffer.indexOf(0x0a, this.#lineStart)) {
      const line = buffer.toString('latin1', this.#lineStart, lf).replace(/\r$/, '');
      if (!(this.#lines === 0 && this.#nph)) headerField(line, this.#lines);
      this.#lines++;
      this.#lineStart = lf + 1;
    }
  }
}

/**
 * One `name: value` line of a header block, checked: an RFC 9110 token name, a value free of
 * control characters. `index` is the line's place in the block (for the hint a body line gets).
 * @throws CgiError `ERR_CGI_MALFORMED_HEADER` quoting the line, escaped.
 */
export function headerField(line: string, index: number): [name: string, value: string] {
  const colon = line.indexOf(':');
  if (colon <= 0) {
    const hint = /^HTTP\/\d/.test(line)
      ? ' (an HTTP status line: print "Status: NNN reason" instead, or use an nph- script with nph enabled)'
      : index > 0
        ? ' (is the empty line that ends the headers missing before it?)'
        : '';
    throw malformed('ERR_CGI_MALFORMED_HEADER', `malformed header line ${quoteForLog(line)}${hint}`);
  }
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) {
    const why =
      line.startsWith(' ') || line.startsWith('\t') ? 'folded (continuation) header line' : 'invalid header name in';
    throw malformed('ERR_CGI_MALFORMED_HEADER', `${why} ${quoteForLog(line)}`);
  }
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  if (BAD_VALUE.test(value)) {
    throw malformed('ERR_CGI_MALFORMED_HEADER', `control character in header value ${quoteForLog(line)}`);
  }
  return [name, value];
}

/**
 * Parses a CGI header block (RFC 3875 §6.3) into a response description.
 *
 * Strict by design (the response-splitting lessons): every line must be
 * `name: value` with an RFC 9110 token name and a value free of control
 * characters; `Status` is three digits from 200 to 599; `Content-Length` is one
 * integer. Anything else throws, and nothing of the output is forwarded.
 *
 * @param block - the header lines, latin1-decoded, without the terminating empty line.
 * @param nph - accept an `HTTP/1.x NNN reason` first line (only for `nph-` scripts with `nph: true`).
 * @throws CgiError (502) whose message quotes the offending line, escaped.
 */
export function parseCgiHeaders(block: string, nph = false): CgiResponseHead {
  const lines = block.split('\n');
  let status: number | undefined;
  let statusText: string | undefined;
  let location: string | undefined;
  let contentType = false;
  let contentLength: number | undefined;
  let headers: Array<readonly [string, string]> = [];
  const nominated = new Set<string>();
  let fields = 0;

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (i === 0 && nph) {
      const m = NPH_STATUS.exec(line);
      if (m === null)
        throw malformed(
          'ERR_CGI_MALFORMED_HEADER',
          `nph script must start with an HTTP status line, got ${quoteForLog(line)}`,
        );
      [status, statusText] = statusOf(m[1] as string, m[2], line);
      continue;
    }
    const [name, value] = headerField(line, i);
    fields++;
    const lower = name.toLowerCase();
    if (lower === 'status') {
      if (status !== undefined) throw malformed('ERR_CGI_BAD_STATUS', `more than one status ${quoteForLog(line)}`);
      const m = /^(\d{3})(?:[ \t]+(.*))?$/.exec(value);
      if (m === null) throw malformed('ERR_CGI_BAD_STATUS', `invalid Status header ${quoteForLog(line)}`);
      [status, statusText] = statusOf(m[1] as string, m[2], line);
      continue;
    }
    if (lower === 'location') {
      if (location !== undefined)
        throw malformed('ERR_CGI_MALFORMED_HEADER', `more than one Location header ${quoteForLog(line)}`);
      if (value === '') throw malformed('ERR_CGI_MALFORMED_HEADER', `empty Location header ${quoteForLog(line)}`);
      location = value;
    } else if (lower === 'content-type') {
      contentType = true;
    } else if (lower === 'content-length') {
      if (contentLength !== undefined || !/^\d{1,15}$/.test(value)) {
        throw malformed('ERR_CGI_BAD_CONTENT_LENGTH', `invalid or repeated Content-Length ${quoteForLog(line)}`);
      }
      contentLength = Number(value);
    } else if (STRIPPED.has(lower) || lower.startsWith('x-accel-')) {
      // Fields a Connection header names are hop-by-hop too (RFC 9110 §7.6.1).
      if (lower === 'connection') for (const name of value.split(',')) nominated.add(name.trim().toLowerCase());
      continue;
    }
    headers.push([name, value]);
  }

  // RFC 3875 §6.2.2: a local path and no other field asks the server to serve that path instead.
  if (location !== undefined && fields === 1 && /^\/(?!\/)/.test(location) && !nph) {
    return { kind: 'local-redirect', location };
  }
  if (location === undefined && status === undefined && !contentType) {
    throw malformed('ERR_CGI_NO_CONTENT_TYPE', 'the header block has no Content-Type, Status or Location');
  }
  if (nominated.size > 0) headers = headers.filter(([name]) => !nominated.has(name.toLowerCase()));
  if (!headers.some(([name]) => name.toLowerCase() === 'x-content-type-options')) {
    headers.push(['X-Content-Type-Options', 'nosniff']);
  }
  return {
    kind: location === undefined ? 'document' : 'client-redirect',
    status: status ?? (location === undefined ? 200 : 302),
    statusText,
    headers,
    contentLength,
  };
}

function statusOf(digits: string, reason: string | undefined, line: string): [number, string | undefined] {
  const status = Number(digits);
  if (status < 200 || status > 599) {
    throw malformed('ERR_CGI_BAD_STATUS', `status must be 200-599 ${quoteForLog(line)}`);
  }
  const text = reason?.trim();
  if (text !== undefined && /[^\t\x20-\x7e\x80-\xff]/.test(text)) {
    throw malformed('ERR_CGI_BAD_STATUS', `control character in status reason ${quoteForLog(line)}`);
  }
  return [status, text === '' ? undefined : text];
}
