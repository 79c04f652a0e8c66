import { setMaxListeners } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { CgiError } from './errors.js';
import type { CgiFetchInfo } from './fetch-io.js';
import type { CgiGateway } from './gateway.js';
import { type CgiRedirectChain, type CgiRequest, type CgiUser, nextRequestId, splitTarget } from './request.js';
import { MAX_LOCAL_REDIRECTS } from './script-run.js';

/** How a framework sees a request: what an adapter hands to {@link requestFromNode}. */
export interface CgiFrameworkView {
  /** Where the framework mounted the middleware (Express `req.baseUrl`, koa-mount's prefix); `''` for none. */
  readonly basePath: string;
  /** The URL below `basePath` (Express `req.url`). */
  readonly url: string;
  /** The original request-target, un-stripped: `REQUEST_URI`. */
  readonly originalUrl: string;
  /**
   * The gateway's own prefix below `basePath`; defaults to the `mountPath` option. Adapters
   * pass a route's literal prefix here (`/report` for `/report{/*rest}`).
   */
  readonly mountPath?: string | undefined;
  /** Identity from the application's own authentication. */
  readonly user?: CgiUser | undefined;
  /** The client address as the framework's own proxy trust computed it. */
  readonly remoteAddress?: string | undefined;
  /** Whether the framework considers the request HTTPS (its own proxy trust). */
  readonly secure?: boolean | undefined;
  /** The host name the framework computed (its own proxy trust), for `SERVER_NAME`. */
  readonly host?: string | undefined;
  /** The raw body a body parser kept when it consumed the stream first. */
  readonly rawBody?: Buffer | string | undefined;
}

const kChain = Symbol.for('cgibridge.redirectChain');
const kExpectsContinue = Symbol.for('cgibridge.expectsContinue');
const kClientGone = Symbol('cgibridge.clientGone');

/**
 * One signal per response, aborted when the client goes away before the response is done.
 * Shared by the local redirects that re-enter with the same response (one 'close' listener,
 * not one per hop).
 */
function clientGone(res: ServerResponse): AbortSignal {
  const holder = res as { [kClientGone]?: AbortSignal };
  let signal = holder[kClientGone];
  if (signal === undefined) {
    const controller = new AbortController();
    // Every hop of a local redirect listens to it while its script finishes.
    setMaxListeners(MAX_LOCAL_REDIRECTS + 2, controller.signal);
    // The client may have left already, while an earlier (async) middleware ran.
    if (res.closed && !res.writableFinished) controller.abort();
    else {
      res.once('close', () => {
        if (!res.writableFinished) controller.abort();
      });
    }
    signal = holder[kClientGone] = controller.signal;
  }
  return signal;
}
/** Headers of a request body: a local redirect is a GET without the first request's body. */
export const BODY_HEADERS: ReadonlySet<string> = new Set(['content-length', 'content-type', 'transfer-encoding']);

/**
 * Returns the raw path below `mountPath`, matching whole segments only
 * (`/cgi-bin` matches `/cgi-bin` and `/cgi-bin/x`, never `/cgi-binX`), or `null`.
 */
export function stripMount(path: string, mountPath: string): string | null {
  if (mountPath === '') return path.startsWith('/') ? path : path === '' ? '' : null;
  if (path === mountPath) return '';
  if (path.startsWith(mountPath) && path.charCodeAt(mountPath.length) === 0x2f) return path.slice(mountPath.length);
  return null;
}

/** Whether the request carries a body (of any length but zero). */
export function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Builds the gateway's neutral request from a `node:http` request as a framework
 * sees it, or `null` when the URL lies outside the gateway's mount (fall through).
 * The request's `signal` aborts when the client goes away before the response is done.
 *
 * @throws CgiError 500 when another middleware already read the body and kept no raw copy:
 *   the script must never run with a silently empty stdin.
 */
export function requestFromNode(
  gateway: CgiGateway,
  req: IncomingMessage,
  res: ServerResponse,
  view: CgiFrameworkView,
): CgiRequest | null {
  const { path, query } = splitTarget(view.url);
  const own = view.mountPath ?? gateway.config.mountPath;
  const below = stripMount(path, own);
  if (below === null) return null;

  const { body, rawHeaders } = bodyOf(gateway, req, view);
  const socket = req.socket;
  return {
    id: nextRequestId(),
    method: req.method ?? 'GET',
    target: view.originalUrl,
    mountPath: view.basePath + own,
    path: below,
    query,
    rawHeaders,
    body,
    httpVersion: req.httpVersion,
    remoteAddress: view.remoteAddress ?? socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
    secure: view.secure ?? (socket as Partial<TLSSocket>).encrypted === true,
    host: view.host,
    user: view.user,
    signal: clientGone(res),
    chain: (req as { [kChain]?: CgiRedirectChain })[kChain],
    sendContinue: (req as { [kExpectsContinue]?: boolean })[kExpectsContinue]
      ? () => sendContinue(req, res)
      : undefined,
  };
}

/**
 * The bytes a body parser kept. A string is only used when it is exactly the body that came:
 * its UTF-8 length equals `Content-Length` (a parser that decoded or re-encoded the body
 * would otherwise hand the script other bytes than the client sent).
 */
function rawBodyOf(req: IncomingMessage, rawBody: Buffer | string | undefined): Buffer | undefined {
  if (rawBody === undefined || Buffer.isBuffer(rawBody)) return rawBody;
  const raw = Buffer.from(rawBody, 'utf8');
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) === raw.length ? raw : undefined;
}

/** Sends `100 Continue` once, if the client is still waiting for it. */
export function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  const holder = req as { [kExpectsContinue]?: boolean };
  if (!holder[kExpectsContinue]) return;
  holder[kExpectsContinue] = false;
  if (!res.headersSent && !res.destroyed) res.writeContinue();
}

/**
 * Makes a server decide on `Expect: 100-continue` itself instead of Node answering
 * `100 Continue` before any handler runs: a refused upload (413, 503, 404...) is then refused
 * before the client sends it. The gateway sends `100 Continue` only once it reads the body,
 * and before falling through to the next handler. Requests outside `paths` (URL prefixes)
 * get `100 Continue` at once, as without this helper.
 *
 * @example
 * ```ts
 * const server = app.listen(8080);
 * acceptExpectContinue(server, { paths: ['/cgi-bin'] });
 * ```
 */
export function acceptExpectContinue(server: Server, { paths }: { paths?: readonly string[] } = {}): Server {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const path = splitTarget(req.url ?? '/').path;
    const ours = paths === undefined || paths.some((prefix) => stripMount(path, prefix.replace(/\/+$/, '')) !== null);
    if (ours) (req as { [kExpectsContinue]?: boolean })[kExpectsContinue] = true;
    else res.writeContinue();
    server.emit('request', req, res);
  });
  return server;
}

/**
 * The body stream and raw headers to use. When another middleware already read the body, its
 * raw copy stands in, and CONTENT_LENGTH describes those bytes (a parser may have received
 * the body chunked).
 *
 * @throws CgiError `ERR_CGI_BODY_CONSUMED` (500) when there is no usable raw copy: the script
 *   must never run with a silently empty or altered stdin.
 */
function bodyOf(
  gateway: CgiGateway,
  req: IncomingMessage,
  view: CgiFrameworkView,
): { body: Readable; rawHeaders: readonly string[] } {
  const consumed = (req as { _body?: unknown })._body === true || req.readableEnded || req.readableDidRead;
  if (!consumed || !declaresBody(req)) return { body: req, rawHeaders: req.rawHeaders };
  const raw = rawBodyOf(req, view.rawBody);
  if (raw === undefined) {
    const error = new CgiError(
      'ERR_CGI_BODY_CONSUMED',
      'the request body was already read by another middleware (a body parser?) and no copy of its exact bytes was kept; mount the CGI route before it, or keep the raw body as a Buffer',
    );
    gateway.config.logger.error(`${req.method} ${JSON.stringify(view.originalUrl)}: ${error.message}`);
    throw error;
  }
  return { body: Readable.from([raw]), rawHeaders: withBodyLength(req.rawHeaders, raw.length) };
}

function withBodyLength(rawHeaders: readonly string[], length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower !== 'content-length' && lower !== 'transfer-encoding') out.push(name, rawHeaders[i + 1] as string);
  }
  out.push('Content-Length', String(length));
  return out;
}

/**
 * Turns a request into the fresh GET a local redirect (RFC 3875 §6.2.2) asks for, so
 * the host can run it through the whole app again: method, URL and original URL set
 * to the location, body headers dropped (the body went to the first script), and the
 * chain kept, so the hops share one slot and the redirect limit holds across scripts and
 * modern routes.
 */
export function prepareReentry(req: IncomingMessage, location: string, chain: CgiRedirectChain): void {
  Object.assign(req, { [kChain]: chain, [kExpectsContinue]: false });
  req.method = 'GET';
  req.url = location;
  (req as { originalUrl?: string }).originalUrl = location;
  const rawHeaders: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (!BODY_HEADERS.has(name.toLowerCase())) rawHeaders.push(name, req.rawHeaders[i + 1] as string);
  }
  req.rawHeaders = rawHeaders;
  for (const name of BODY_HEADERS) delete req.headers[name];
  // What a body parser made of the first request's body is not part of the redirect.
  delete (req as { body?: unknown }).body;
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
