import { getMaxListeners, setMaxListeners } from 'node:events';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { type CgiHost, dispatchCgi, publicError } from './dispatch.js';
import { CgiError } from './errors.js';
import { type CgiFetchInfo, fetchHeaders, webBody, withoutBodyHeaders } from './fetch-io.js';
import { type CgiGateway, createCgiGateway } from './gateway.js';
import { BODY_HEADERS, stripMount } from './node-request.js';
import type { CgiOptions } from './options.js';
import { type CgiRedirectChain, type CgiUser, nextRequestId, splitTarget } from './request.js';
import { MAX_LOCAL_REDIRECTS } from './script-run.js';
import { errorBody } from './send-result.js';

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
  readonly signal: AbortSignal;
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
      if (request.bodyUsed || info.body?.readableDidRead) {
        const message = 'the request body was already read by another handler: mount the CGI route before it';
        gateway.config.logger.error(`${request.method} ${JSON.stringify(target)}: ${message}`);
        throw new CgiError('ERR_CGI_BODY_CONSUMED', message);
      }
      const secure = info.secure ?? url.protocol === 'https:';
      return {
        id: nextRequestId(),
        method: request.method,
        target,
        mountPath,
        path: below,
        query,
        rawHeaders: fetchHeaders(request, info),
        body: info.body ?? (request.body && Readable.fromWeb(request.body as NodeWebStream<Uint8Array>)),
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
      const headers = new Headers(ctx.request.headers);
      for (const name of BODY_HEADERS) headers.delete(name);
      const next = new Request(new URL(location, ctx.request.url), { headers, signal: ctx.signal });
      const rawHeaders = ctx.info.rawHeaders && withoutBodyHeaders(ctx.info.rawHeaders);
      const info = { ...ctx.info, rawTarget: location, rawHeaders, body: undefined, sendContinue: undefined };
      reentries.set(next, { info, signal: ctx.signal, chain });
      const answer = await (options.reenter ?? self)(next);
      return answer ?? host.fail(ctx, publicError(new CgiError('ERR_CGI_NOT_FOUND', 'nothing answers the redirect')));
    },
    send: (_, result) => {
      const headers = result.headers.map(([name, value]) => [name, value]);
      // RFC 9110 §15.3.6: a 205 says its empty content, a runtime would otherwise send it chunked.
      if (result.status === 205) headers.push(['Content-Length', '0']);
      const statusText = result.statusText === undefined ? {} : { statusText: result.statusText };
      return new Response(result.body && webBody(result.body), { status: result.status, ...statusText, headers });
    },
    fail: (_, error) =>
      new Response(errorBody(error.status), {
        status: error.status,
        headers: { ...error.headers, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
      }),
    // The body's error reaches the runtime through the response stream, which then cuts the connection.
    abort: () => {},
  };
  return host;
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
      const ctx = carried
        ? { request, ...carried }
        : { request, info: info ?? { remoteAddress: '' }, signal: request.signal };
      // Every hop of a local redirect listens to the client's signal while its script finishes.
      setMaxListeners(Math.max(getMaxListeners(ctx.signal), MAX_LOCAL_REDIRECTS + 2), ctx.signal);
      return dispatchCgi(gateway, host, ctx) as Promise<Response | undefined>;
    },
    { gateway },
  );
  const host = fetchHost(gateway, { user, reenter }, handler);
  return handler;
}
