import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { CgiError } from './errors.js';
import { BODY_HEADERS } from './node-request.js';
import type { CgiDocumentResult } from './results.js';
import { errorBody } from './send-result.js';

/**
 * What the runtime knows about a request that a `Request` does not carry. Only
 * `remoteAddress` is required; without `rawTarget` the path rules see the parsed URL.
 */
export interface CgiFetchInfo {
  /** The peer address (`REMOTE_ADDR`). */
  readonly remoteAddress: string;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  /** Default: the URL's port. */
  readonly localPort?: number | undefined;
  /** `1.1` (default) or `1.0`: `SERVER_PROTOCOL`. */
  readonly httpVersion?: string | undefined;
  /**
   * The request-target as received, before URL parsing resolved `..` and `%2e%2e`: the path
   * rules apply to it, so a traversal is refused as by every other host. Default: the URL's path and query.
   */
  readonly rawTarget?: string | undefined;
  /** Header names and values as received, flat (`[name, value, ...]`). Default: `request.headers`. */
  readonly rawHeaders?: readonly string[] | undefined;
  /** The connection is TLS. Default: the URL's scheme is `https:`. */
  readonly secure?: boolean | undefined;
  /**
   * The runtime's own stream of the request body (Node: the `IncomingMessage`), read instead
   * of `request.body`, which is then never touched: no web-stream round trip per chunk.
   */
  readonly body?: Readable | undefined;
  /** Sends `100 Continue` when the runtime held it back for the handler to decide (see `acceptExpectContinue`). */
  readonly sendContinue?: (() => void) | undefined;
}

/** A flat `[name, value, ...]` list without the body headers. */
export function withoutBodyHeaders(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    if (!BODY_HEADERS.has(name.toLowerCase())) out.push(name, flat[i + 1] as string);
  }
  return out;
}

/**
 * The flat header list the gateway reads: the raw one when the runtime gave it, else the
 * `Request`'s. The body headers always describe the body the `Request` really has: none
 * without one (a runtime that drops a GET's body), and chunked for a body of unknown length.
 */
export function fetchHeaders(request: Request, info: CgiFetchInfo): string[] {
  // A hand-made Request has no Host: the URL's authority is the host the client addressed.
  const host = request.headers.has('host') ? [] : ['Host', new URL(request.url).host];
  const given = info.rawHeaders ?? [...[...request.headers].flat(), ...host];
  // The runtime's own body stream is what its headers describe (and `request.body` must stay untouched).
  if (info.body !== undefined) return [...given];
  if (request.body === null) return withoutBodyHeaders(given);
  const sized = given.some((entry, i) => i % 2 === 0 && /^(content-length|transfer-encoding)$/i.test(entry));
  return sized ? [...given] : [...given, 'Transfer-Encoding', 'chunked'];
}

/**
 * The script's output as a web stream pulled by the client: a chunk is read from the script
 * only when the runtime asks for one. A script that wrote past its Content-Length errors the
 * stream after the declared bytes, so the runtime closes the connection instead of reusing it.
 * A cancelled body calls `onCancel` (the handler kills the script then).
 */
export function webBody(body: Readable, onCancel: () => void): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await chunks.next();
        if (!done) controller.enqueue(value);
        else if ((body as { overrun?: boolean }).overrun) controller.error(new Error('script output overran'));
        else controller.close();
      },
      // The client will read no more: the script is killed as on a disconnect.
      cancel: () => {
        onCancel();
        body.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The body stream the script reads: the runtime's own when given, else `request.body`.
 * @throws CgiError `ERR_CGI_BODY_CONSUMED` (500) when another handler read it first (logged
 *   through `log`): the script must never run with a silently empty stdin.
 */
export function fetchBody(request: Request, info: CgiFetchInfo, log: (message: string) => void): Readable | null {
  if (request.bodyUsed || info.body?.readableDidRead) {
    const message = 'the request body was already read by another handler: mount the CGI route before it';
    log(message);
    throw new CgiError('ERR_CGI_BODY_CONSUMED', message);
  }
  return info.body ?? (request.body && Readable.fromWeb(request.body as NodeWebStream<Uint8Array>));
}

/** A document or client redirect as a `Response`: status, reason phrase, fields in the script's order, body pulled. */
export function documentResponse(result: CgiDocumentResult, onCancel: () => void): Response {
  const headers = result.headers.map(([name, value]) => [name, value]);
  // RFC 9110 §15.3.6: a 205 says its empty content, a runtime would otherwise send it chunked.
  if (result.status === 205) headers.push(['Content-Length', '0']);
  const statusText = result.statusText === undefined ? {} : { statusText: result.statusText };
  return new Response(result.body && webBody(result.body, onCancel), { status: result.status, ...statusText, headers });
}

/** An error answered before anything was sent: its status and headers, a generic plain-text body. */
export function errorResponse(error: CgiError, accept?: string | null): Response {
  // The development error page (option debug), when the gateway attached one.
  const page = error.debugPage?.negotiate(accept ?? undefined);
  return new Response(page?.body ?? errorBody(error.status), {
    status: error.status,
    headers: {
      ...error.headers,
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      ...page?.headers,
    },
  });
}

/**
 * The fresh GET a local redirect asks for (RFC 3875 §6.2.2), and what it carries: the same
 * headers less the body's, the location as its raw target, no body and no `100 Continue`.
 */
export function reentry(
  request: Request,
  info: CgiFetchInfo,
  location: string,
  signal: AbortSignal,
): { next: Request; info: CgiFetchInfo } {
  const headers = new Headers(request.headers);
  for (const name of BODY_HEADERS) headers.delete(name);
  const next = new Request(new URL(location, request.url), { headers, signal });
  const rawHeaders = info.rawHeaders && withoutBodyHeaders(info.rawHeaders);
  return { next, info: { ...info, rawTarget: location, rawHeaders, body: undefined, sendContinue: undefined } };
}
