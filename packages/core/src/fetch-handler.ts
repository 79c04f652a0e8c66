import { getMaxListeners, setMaxListeners } from 'node:events';
import { type CgiHost, dispatchCgi, publicError } from './dispatch.js';
import { CgiError } from './errors.js';
import { type CgiFetchInfo, documentResponse, errorResponse, fetchBody, fetchHeaders, reentry } from './fetch-io.js';
import { type CgiGateway, createCgiGateway } from './gateway.js';
import { stripMount } from './node-request.js';
import type { CgiOptions } from './options.js';
import { type CgiRedirectChain, type CgiUser, nextRequestId, splitTarget } from './request.js';
import { MAX_LOCAL_REDIRECTS } from './script-run.js';

/** Options of {@link createCgiFetchHandler}: the core options, `user(request)` and `reenter(request)`. */
export interface CgiFetchOptions extends CgiOptions {
  /** The authenticated user from the app's own auth: `REMOTE_USER`/`AUTH_TYPE`. */
  user?: ((request: Request) => CgiUser | undefined) | undefined;
  /**
   * Serves a local redirect (RFC 3875 §6.2.2) as a fresh GET: the app's own fetch (Hono's
   * `app.fetch`), so the target may be a modern route. Pass the `Request` on as it is: it
   * carries the redirect chain. Default: this handler again, 404 when no script answers.
   */
  reenter?: ((request: Request) => Response | undefined | Promise<Response | undefined>) | undefined;
}

/** A Web-standard handler; resolves `undefined` when no script answers (let the app go on). */
export interface CgiFetchHandler {
  (request: Request, info?: CgiFetchInfo): Promise<Response | undefined>;
  /** The engine behind the handler (running count, `close()` for shutdown). */
  readonly gateway: CgiGateway;
}

interface FetchContext {
  readonly request: Request;
  readonly info: CgiFetchInfo;
  /** The client's signal, also aborted when the runtime cancels the response body. */
  readonly signal: AbortSignal;
  readonly cancel: () => void;
  readonly chain?: CgiRedirectChain | undefined;
}

/** What a re-entered `Request` carries: the chain, the client's signal and connection facts. */
const reentries = new WeakMap<Request, Omit<FetchContext, 'request'>>();

function fetchHost(gateway: CgiGateway, options: CgiFetchOptions, self: CgiFetchHandler): CgiHost<FetchContext> {
  const mountPath = gateway.config.mountPath;
  const host: CgiHost<FetchContext> = {
    request: ({ request, info, signal, chain }) => {
      const url = new URL(request.url);
      // The target as sent: the URL parser removed dot segments the path rules must still see.
      const target = info.rawTarget ?? url.pathname + url.search;
      const { path, query } = splitTarget(target);
      const below = stripMount(path, mountPath);
      if (below === null) return null;
      const secure = info.secure ?? url.protocol === 'https:';
      return {
        id: nextRequestId(),
        method: request.method,
        target,
        mountPath,
        path: below,
        query,
        rawHeaders: fetchHeaders(request, info),
        body: fetchBody(request, info, (message) =>
          gateway.config.logger.error(`${request.method} ${JSON.stringify(target)}: ${message}`),
        ),
        httpVersion: info.httpVersion ?? '1.1',
        remoteAddress: info.remoteAddress,
        remotePort: info.remotePort ?? 0,
        localAddress: info.localAddress ?? '',
        localPort: info.localPort ?? (Number(url.port) || (secure ? 443 : 80)),
        secure,
        user: options.user?.(request),
        signal,
        chain,
        sendContinue: info.sendContinue,
      };
    },
    fallThrough: ({ info }) => info.sendContinue?.(),
    reenter: async (ctx, location, chain) => {
      const { next, info } = reentry(ctx.request, ctx.info, location, ctx.signal);
      reentries.set(next, { info, signal: ctx.signal, cancel: ctx.cancel, chain });
      const answer = await (options.reenter ?? self)(next);
      return answer ?? host.fail(ctx, publicError(new CgiError('ERR_CGI_NOT_FOUND', 'nothing answers the redirect')));
    },
    send: (ctx, result) => documentResponse(result, ctx.cancel),
    fail: ({ request }, error) => errorResponse(error, request.headers.get('accept')),
    // The body's error reaches the runtime through the response stream, which then cuts the connection.
    abort: () => {},
  };
  return host;
}

/** A client's request: its signal also aborts when the response body is cancelled (the script is killed). */
function clientContext(request: Request, info: CgiFetchInfo | undefined): FetchContext {
  const cancelled = new AbortController();
  const signal = AbortSignal.any([request.signal, cancelled.signal]);
  return { request, info: info ?? { remoteAddress: '' }, signal, cancel: () => cancelled.abort() };
}

/**
 * Creates a Web-standard fetch handler that runs CGI scripts (RFC 3875): Hono, and any
 * runtime built on `Request`/`Response`. Bodies stream both ways with backpressure; an
 * aborted `request.signal` kills the script. A `Request` has no peer port, HTTP version or
 * raw header bytes, and its URL is normalised: pass what the runtime knows as `info`
 * (on Node, {@link fetchInfoFromNode}); path rules apply to `info.rawTarget` when given.
 *
 * @example
 * ```ts
 * const cgi = createCgiFetchHandler({ root: './cgi-bin', mountPath: '/cgi-bin', reenter: (r) => app.fetch(r) });
 * app.all('/cgi-bin/*', async (c, next) =>
 *   (await cgi(c.req.raw, fetchInfoFromNode(c.env?.incoming, c.env?.outgoing))) ?? next());
 * ```
 * @throws CgiOptionError (a TypeError) at creation, naming a wrong option.
 */
export function createCgiFetchHandler(options: CgiFetchOptions): CgiFetchHandler {
  const { user, reenter, ...rest } = options;
  const gateway = createCgiGateway(rest);
  const handler = Object.assign(
    (request: Request, info?: CgiFetchInfo): Promise<Response | undefined> => {
      const carried = reentries.get(request);
      const ctx = carried ? { request, ...carried } : clientContext(request, info);
      // Every hop of a local redirect listens to the client's signal while its script finishes,
      // and so does each hop's `Request` (it follows the signal it was made with).
      setMaxListeners(Math.max(getMaxListeners(ctx.signal), 2 * (MAX_LOCAL_REDIRECTS + 2)), ctx.signal);
      return dispatchCgi(gateway, host, ctx) as Promise<Response | undefined>;
    },
    { gateway },
  );
  const host = fetchHost(gateway, { user, reenter }, handler);
  return handler;
}
