import {
  ServerResponse as HttpServerResponse,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { CgiError } from './errors.js';
import { declaresBody } from './node-request.js';
import type { CgiDocumentResult } from './results.js';

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
 * backpressure. If the client goes away first, the body is destroyed (which kills the
 * script). A body that errors is the dispatch's business (it destroys the connection).
 */
export function sendCgiResult(result: CgiDocumentResult, res: ServerResponse, { drainMs = 30_000 } = {}): void {
  res.statusCode = result.status;
  if (result.statusText !== undefined) res.statusMessage = result.statusText;
  for (const [name, value] of groupHeaders(result.headers)) res.setHeader(name, value);
  const body = result.body;
  if (body === null) {
    res.end();
    return;
  }
  res.once('close', () => {
    if (!res.writableFinished) body.destroy();
  });
  closeAfterOverrun(body, res);
  // pipe(), not stream.pipeline: pipeline allocates an AbortController per call and aborts
  // it on completion (a DOMException per request), about 1% of a hello-world request's CPU.
  const req = res.req;
  if (req === undefined || req.complete || !declaresBody(req)) {
    holdFirstWrite(res, body);
    body.pipe(res);
    return;
  }
  // The script answered without reading the whole upload, and a client may send all of it before
  // it reads: the response ends once the rest was read and dropped, because a connection closed
  // on unread bytes is reset by the kernel, and such a client would see EPIPE, not the response.
  body.pipe(res, { end: false });
  body.once('end', () => endAfterUpload(req, res, drainMs));
}

/** How long the head and the first body bytes wait for the rest of a short response ({@link holdFirstWrite}). */
const FIRST_WRITE_HOLD_MS = 5;
const holder = Symbol('cgibridge.firstWriteHolder');
type HeldSocket = Socket & { [holder]?: ServerResponse };

/**
 * Holds a response's first write until the body ends, the socket's buffer fills or 5 ms pass,
 * so that a short response leaves in one write. Most scripts answer with a few bytes and exit,
 * and their output is read before the end of stdout: the head and body then went out in one
 * write and the chunked terminator in a second, and the client woke twice. Held, `end()` sends
 * all of it at once (it uncorks the socket fully). A body larger than the socket's buffer is let
 * go as soon as a write is refused, so it never waits for the timer; a script that streams
 * slowly gets its first bytes out about 5 ms later. Measured on hello.sh at c8: 1.7 `write` calls
 * per response before, 0.7 after (the rest are thread-pool wake-ups), 3-10% more requests per
 * second. `sendCgiResult` does this itself; adapters that hand the body to their framework call
 * it. Only for HTTP/1 (`node:http`) responses: an HTTP/2 response shares its session's socket.
 *
 * @param res - the response about to receive the script's body.
 * @param body - that body; its writes are watched for a full socket buffer once it flows.
 */
export function holdFirstWrite(res: ServerResponse, body: Readable): void {
  const socket = res.socket as HeldSocket | null;
  if (!(res instanceof HttpServerResponse) || socket === null || socket.writableCorked > 0) return;
  socket.cork();
  socket[holder] = res;
  const release = () => {
    clearTimeout(timer);
    body.removeListener('data', onData);
    // Only this response's cork: on a kept-alive socket the next one may hold its own by now.
    if (socket[holder] !== res) return;
    socket[holder] = undefined;
    // end() has uncorked it fully already.
    if (!res.writableEnded && socket.writableCorked > 0) socket.uncork();
  };
  // Runs after the consumer's own 'data' listener (the pipe to the response), so after its write.
  const onData = () => {
    if (res.writableNeedDrain || socket.writableNeedDrain) release();
  };
  const timer = setTimeout(release, FIRST_WRITE_HOLD_MS);
  body.once('resume', () => {
    if (socket[holder] === res) body.on('data', onData);
  });
}

/** Ends the response once the request body is all in (read and dropped), or after `drainMs` regardless. */
function endAfterUpload(req: IncomingMessage, res: ServerResponse, drainMs: number): void {
  if (req.complete || req.destroyed) {
    res.end();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  if (drainMs < 2 ** 31) timer = setTimeout(end, drainMs);
  req.once('end', end).once('close', end).resume();
}

/**
 * A script that wrote past its Content-Length got exactly the declared bytes sent; the
 * connection then closes, so nothing it wrote can ever be read as part of the next response.
 * For hosts that write `body` to `res` their own way (Fastify's `reply.send`).
 */
export function closeAfterOverrun(body: Readable, res: ServerResponse): void {
  const socket = res.socket;
  res.once('finish', () => {
    if ((body as { overrun?: boolean }).overrun) socket?.destroySoon();
  });
}

/** The short, generic body of an error response: no path, no stack, no detail. */
export function errorBody(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}\n`;
}

/**
 * Answers with a CgiError's status and a generic body, or destroys the connection
 * when headers are already out (the response cannot change any more). A body the client
 * is still sending is not waited for: the answer goes out now and the connection closes.
 * With the `debug` option, a script's 5xx carries a development page: that is sent instead,
 * HTML or plain text by the request's `Accept`.
 */
export function sendCgiError(error: CgiError, res: ServerResponse): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const page = error.debugPage?.negotiate(res.req?.headers.accept);
  const text = page?.body ?? errorBody(error.status);
  const unread = res.req !== undefined && !res.req.complete && declaresBody(res.req);
  res.writeHead(error.status, {
    ...error.headers,
    ...(unread ? { Connection: 'close' } : {}),
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    ...page?.headers,
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
