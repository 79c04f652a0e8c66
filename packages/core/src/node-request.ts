import { setMaxListeners } from 'node:events';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { CgiError } from './errors.js';
import { type CgiGateway, MAX_LOCAL_REDIRECTS } from './gateway.js';
import type { CgiLogger } from './logger.js';
import { type CgiRequest, type CgiUser, nextRequestId, splitTarget } from './request.js';

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

const kRedirects = Symbol.for('cgibridge.localRedirects');
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
const BODY_HEADERS = new Set(['content-length', 'content-type', 'transfer-encoding']);

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

function declaresBody(req: IncomingMessage): boolean {
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

  let body: Readable | null = req;
  let rawHeaders = req.rawHeaders;
  const consumed = (req as { _body?: unknown })._body === true || req.readableEnded || req.readableDidRead;
  if (consumed && declaresBody(req)) {
    if (view.rawBody === undefined) {
      const error = new CgiError(
        'ERR_CGI_BODY_CONSUMED',
        500,
        'the request body was already read by another middleware (a body parser?); mount the CGI route before it, or keep the raw body',
      );
      gateway.config.logger.error(`${req.method} ${JSON.stringify(view.originalUrl)}: ${error.message}`);
      throw error;
    }
    const raw = Buffer.from(view.rawBody);
    body = Readable.from([raw]);
    // CONTENT_LENGTH must describe the bytes the script will read: a parser may have kept a
    // decoded or re-encoded body, or received it chunked.
    rawHeaders = withBodyLength(req.rawHeaders, raw.length);
  }

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
    redirects: (req as { [kRedirects]?: number })[kRedirects] ?? 0,
  };
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
 * hop counted so the redirect limit holds across scripts and modern routes.
 */
export function prepareReentry(req: IncomingMessage, location: string): void {
  const hops = ((req as { [kRedirects]?: number })[kRedirects] ?? 0) + 1;
  Object.assign(req, { [kRedirects]: hops });
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
 * The form of an error to hand to a framework's error handling (`next(err)`, Koa's
 * `ctx.onerror`): same `code`, `status`, `expose` and `headers`, but for 5xx a generic
 * message, and no stack frames, which Express's default handler prints outside production.
 * The detailed message of a CgiError was already logged by the gateway; anything else is
 * logged here, with its stack, when a logger is given.
 */
export function publicError(error: unknown, logger?: CgiLogger): CgiError {
  if (!(error instanceof CgiError)) {
    // Not a gateway failure (a throwing `user` or `env` function, a bug): nobody logged it yet.
    logger?.error(`internal error: ${(error as Error)?.stack ?? String(error)}`);
  }
  const source = error instanceof CgiError ? error : new CgiError('ERR_CGI_SPAWN', 500, 'internal error');
  const message = source.expose ? source.message : (STATUS_CODES[source.status] ?? 'Error');
  const copy = new CgiError(source.code, source.status, message, { headers: { ...source.headers } });
  copy.stack = `CgiError: ${message}`;
  return copy;
}
