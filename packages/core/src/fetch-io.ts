import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { BODY_HEADERS, sendContinue } from './node-request.js';

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

/**
 * The connection facts of a `node:http` request, for a fetch handler running on Node
 * (@hono/node-server: `c.env.incoming`, `c.env.outgoing`); `undefined` without one.
 * With `outgoing`, `100 Continue` waits for the gateway's decision (after `acceptExpectContinue`).
 */
export function fetchInfoFromNode(incoming?: IncomingMessage, outgoing?: ServerResponse): CgiFetchInfo | undefined {
  if (incoming === undefined) return undefined;
  const socket = incoming.socket;
  return {
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    httpVersion: incoming.httpVersion,
    rawTarget: incoming.url,
    rawHeaders: incoming.rawHeaders,
    secure: (socket as Partial<TLSSocket>).encrypted === true,
    body: incoming,
    sendContinue: outgoing === undefined ? undefined : () => sendContinue(incoming, outgoing),
  };
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
  const given = info.rawHeaders ?? [...request.headers].flat();
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
 */
export function webBody(body: Readable): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await chunks.next();
        if (!done) controller.enqueue(value);
        else if ((body as { overrun?: boolean }).overrun) controller.error(new Error('script output overran'));
        else controller.close();
      },
      cancel: () => void body.destroy(),
    },
    { highWaterMark: 0 },
  );
}
