import { type ServerResponse, STATUS_CODES } from 'node:http';
import { CgiError } from './errors.js';
import type { CgiDocumentResult } from './gateway.js';

/**
 * Groups header fields by name (case-insensitive), keeping the script's order and
 * every value of a repeated field (`Set-Cookie`), for `setHeader`-style APIs.
 */
export function groupHeaders(headers: CgiDocumentResult['headers']): Array<[name: string, value: string | string[]]> {
  const grouped = new Map<string, [string, string[]]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const entry = grouped.get(key);
    if (entry === undefined) grouped.set(key, [name, [value]]);
    else entry[1].push(value);
  }
  return [...grouped.values()].map(([name, values]) => [name, values.length === 1 ? (values[0] as string) : values]);
}

/**
 * Writes a gateway result to a `node:http` response, streaming the body with
 * backpressure. If the body errors (timeout, length mismatch) the response is
 * destroyed, which aborts the connection: a truncated response is never made to
 * look complete. If the client goes away first, the body is destroyed.
 */
export function sendCgiResult(result: CgiDocumentResult, res: ServerResponse): void {
  res.statusCode = result.status;
  if (result.statusText !== undefined) res.statusMessage = result.statusText;
  for (const [name, value] of groupHeaders(result.headers)) res.setHeader(name, value);
  const body = result.body;
  if (body === null) {
    res.end();
    return;
  }
  // pipe() with both failure paths wired by hand, not stream.pipeline: pipeline allocates an
  // AbortController per call and aborts it on completion (a DOMException per request),
  // about 1% of a hello-world request's CPU in the benchmark.
  body.once('error', () => res.destroy());
  res.once('close', () => {
    if (!res.writableFinished) body.destroy();
  });
  body.pipe(res);
}

/** The short, generic body of an error response: no path, no stack, no detail. */
export function errorBody(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}\n`;
}

/**
 * Answers with a CgiError's status and a generic body, or destroys the connection
 * when headers are already out (the response cannot change any more).
 */
export function sendCgiError(error: CgiError, res: ServerResponse): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const text = errorBody(error.status);
  res.writeHead(error.status, {
    ...error.headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

/** A 404 for a URL no script answers, when there is no next handler to fall through to. */
export const notFound = (): CgiError => new CgiError('ERR_CGI_FORBIDDEN_PATH', 404, 'no script at this URL');
