/**
 * @cgibridge/koa: mount legacy CGI scripts in a Koa 2 or 3 app.
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  type CgiFrameworkOptions,
  type CgiGateway,
  createFrameworkGateway,
  groupHeaders,
  prepareReentry,
  publicError,
  requestFromNode,
  routeLiteralPrefix,
  splitTarget,
} from '@cgibridge/core';
import type { Context, Middleware, Next } from 'koa';

/** Options of {@link cgi}: the core options, `trustProxy: 'app'` (the app's `proxy` setting) and `user(ctx)`. */
export type CgiKoaOptions = CgiFrameworkOptions<Context>;

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * koa-mount's prefix, if the request is inside it now: koa-mount leaves `ctx.mountPath` set
 * after a mounted middleware falls through, so it counts only if it really was stripped.
 */
function mountOf(ctx: Context): string {
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
 * `await next()`. Errors before the response are thrown with `status`, `expose`, `headers`.
 *
 * @throws TypeError at creation, naming a wrong option.
 */
export function cgi(options: CgiKoaOptions): Middleware & { readonly gateway: CgiGateway } {
  const { gateway, user, trustApp } = createFrameworkGateway(options);

  /**
   * The @koa/router route this middleware serves, if it is one: `_matchedRoute` is left behind
   * by any earlier route that fell through, so it counts only if its layer holds this middleware.
   */
  function ownRoute(ctx: Context): string | undefined {
    const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
    const router = (ctx as { router?: { stack?: Array<{ path?: unknown; stack?: unknown[] }> } }).router;
    const ours = router?.stack?.some((layer) => layer.path === matched && layer.stack?.includes(cgiMiddleware));
    return ours && typeof matched === 'string' ? matched : undefined;
  }

  async function cgiMiddleware(ctx: Context, next: Next): Promise<void> {
    let result: Awaited<ReturnType<typeof gateway.run>>;
    try {
      const request = requestFromNode(gateway, ctx.req, ctx.res, {
        basePath: mountOf(ctx),
        url: ctx.url,
        originalUrl: ctx.originalUrl,
        mountPath: gateway.config.mountPath || routeLiteralPrefix(ownRoute(ctx)),
        user: user?.(ctx),
        remoteAddress: trustApp ? ctx.ip : undefined,
        secure: trustApp ? ctx.secure : undefined,
        host: trustApp ? ctx.hostname : undefined,
        rawBody: (ctx.request as { rawBody?: string | Buffer }).rawBody,
      });
      result = request && (await gateway.run(request));
    } catch (error) {
      throw publicError(error, gateway.config.logger);
    }
    if (!result) return next();
    if (result.kind === 'local-redirect') {
      // Through the whole app again: the target may be another script or a modern route.
      prepareReentry(ctx.req, result.location);
      ctx.respond = false;
      let callback = callbacks.get(ctx.app);
      if (callback === undefined) {
        callback = ctx.app.callback() as Handler;
        callbacks.set(ctx.app, callback);
      }
      await callback(ctx.req, ctx.res);
      return;
    }
    ctx.status = result.status;
    if (result.statusText !== undefined) ctx.message = result.statusText;
    const body = result.body;
    // Koa sets Content-Type (octet-stream) and drops Content-Length for a stream body, and
    // turns a null body into 204: the script's own headers go on after the body.
    ctx.body = body ?? (ctx.status === 204 || ctx.status === 304 ? null : Readable.from([]));
    ctx.remove('Content-Type');
    for (const [name, value] of groupHeaders(result.headers)) ctx.set(name, value);
    // After headers an error can only abort: Koa would otherwise leave the response hanging.
    body?.once('error', () => ctx.res.destroy());
  }
  return Object.assign(cgiMiddleware, { gateway });
}

export type { CgiUser } from '@cgibridge/core';
