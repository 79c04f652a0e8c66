/**
 * @cgibridge/koa: mount legacy CGI scripts in a Koa 2 or 3 app.
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  type CgiFrameworkOptions,
  type CgiGateway,
  type CgiHost,
  createFrameworkGateway,
  dispatchCgi,
  groupHeaders,
  holdFirstWrite,
  prepareReentry,
  requestFromNode,
  routeLiteralPrefix,
  sendContinue,
  splitTarget,
} from '@cgibridge/core';
import type { Context as KoaContext, Middleware, Next } from 'koa';

/** Options of {@link cgi}: the core options, `trustProxy: 'app'` (the app's `proxy` setting) and `user(ctx)`. */
export type CgiKoaOptions = CgiFrameworkOptions<KoaContext>;

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
type Context = { readonly ctx: KoaContext; readonly next: Next };

/**
 * koa-mount's prefix, if the request is inside it now: koa-mount leaves `ctx.mountPath` set
 * after a mounted middleware falls through, so it counts only if it really was stripped.
 */
function mountOf(ctx: KoaContext): string {
  const mount = (ctx as { mountPath?: string }).mountPath;
  if (!mount || mount === '/') return '';
  const original = splitTarget(ctx.originalUrl).path;
  const path = splitTarget(ctx.url).path;
  return original === mount + path || (path === '/' && original === mount) ? mount : '';
}
const callbacks = new WeakMap<object, Handler>();

/**
 * Koa middleware that runs CGI scripts (RFC 3875): `app.use(cgi({ root, mountPath: '/cgi-bin' }))`,
 * under koa-mount, or as a @koa/router handler. Writes through `ctx.status`, `ctx.set()` and
 * `ctx.body`, so upstream middleware (compression, logging, etag) still applies. No script:
 * `await next()`. Errors before the response are thrown with `status`, `expose`, `headers`; with
 * `debug`, a script's 5xx is answered with the development page instead.
 *
 * @throws CgiOptionError (a TypeError) at creation, naming a wrong option.
 */
export function cgi(options: CgiKoaOptions): Middleware & { readonly gateway: CgiGateway } {
  const { gateway, user, trustApp } = createFrameworkGateway(options);
  const host: CgiHost<Context> = {
    request: ({ ctx }) =>
      requestFromNode(gateway, ctx.req, ctx.res, {
        basePath: mountOf(ctx),
        url: ctx.url,
        originalUrl: ctx.originalUrl,
        mountPath: gateway.config.mountPath || routeLiteralPrefix(ownRoute(ctx)),
        user: user?.(ctx),
        remoteAddress: trustApp ? ctx.ip : undefined,
        secure: trustApp ? ctx.secure : undefined,
        host: trustApp ? ctx.hostname : undefined,
        rawBody: (ctx.request as { rawBody?: string | Buffer }).rawBody,
      }),
    fallThrough: ({ ctx, next }) => {
      sendContinue(ctx.req, ctx.res);
      return next();
    },
    reenter: ({ ctx }, location, chain) => {
      // Through the whole app again: the target may be another script or a modern route.
      prepareReentry(ctx.req, location, chain);
      ctx.respond = false;
      let callback = callbacks.get(ctx.app);
      if (callback === undefined) {
        callback = ctx.app.callback() as Handler;
        callbacks.set(ctx.app, callback);
      }
      return callback(ctx.req, ctx.res);
    },
    send: ({ ctx }, result) => {
      ctx.status = result.status;
      if (result.statusText !== undefined) ctx.message = result.statusText;
      // Koa sets Content-Type (octet-stream) and drops Content-Length for a stream body, and
      // turns a null body into 204: the script's own headers go on after the body.
      ctx.body = result.body ?? (ctx.status === 204 || ctx.status === 304 ? null : Readable.from([]));
      if (result.body !== null) holdFirstWrite(ctx.res, result.body);
      ctx.remove('Content-Type');
      for (const [name, value] of groupHeaders(result.headers)) ctx.set(name, value);
    },
    fail: ({ ctx }, error) => {
      if (error.debugPage === undefined) throw error;
      // The development page (option `debug`), through ctx like any response, so upstream middleware still applies.
      const page = error.debugPage.negotiate(ctx.get('Accept') || undefined);
      ctx.status = error.status;
      ctx.set(page.headers);
      ctx.body = page.body;
    },
    abort: ({ ctx }) => ctx.res.destroy(),
  };

  /**
   * The @koa/router route this middleware serves, if it is one: `_matchedRoute` is left behind
   * by any earlier route that fell through, so it counts only if its layer holds this middleware.
   */
  function ownRoute(ctx: KoaContext): string | undefined {
    const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
    const router = (ctx as { router?: { stack?: Array<{ path?: unknown; stack?: unknown[] }> } }).router;
    const ours = router?.stack?.some((layer) => layer.path === matched && layer.stack?.includes(cgiMiddleware));
    return ours && typeof matched === 'string' ? matched : undefined;
  }

  async function cgiMiddleware(ctx: KoaContext, next: Next): Promise<void> {
    await dispatchCgi(gateway, host, { ctx, next });
  }
  return Object.assign(cgiMiddleware, { gateway });
}

export { acceptExpectContinue, type CgiUser } from '@cgibridge/core';
