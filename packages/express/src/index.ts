/**
 * @cgibridge/express: mount legacy CGI scripts in an Express 4 or 5 app.
 * @packageDocumentation
 */
import {
  CgiError,
  type CgiFrameworkOptions,
  type CgiGateway,
  type CgiHost,
  createFrameworkGateway,
  dispatchCgi,
  prepareReentry,
  publicError,
  requestFromNode,
  routeLiteralPrefix,
  sendCgiError,
  sendCgiResult,
  sendContinue,
} from '@cgibridge/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Options of {@link cgi}: the core options, `trustProxy: 'app'` (the app's `trust proxy`) and `user(req)`. */
export type CgiExpressOptions = CgiFrameworkOptions<Request>;

type Context = { readonly req: Request; readonly res: Response; readonly next: NextFunction };
type App = { parent?: App; handle(req: Request, res: Response, done: (error?: unknown) => void): void };

/**
 * Refusals answered here, not through the app's error handler: finalhandler reads out an unread
 * body before it answers, which a client that stalls (or a slowloris) never finishes sending.
 */
const ANSWERED_AT_ONCE = new Set([408, 411, 413, 503, 504]);

/**
 * Express middleware that runs CGI scripts (RFC 3875).
 *
 * `app.use('/cgi-bin', cgi({ root: './cgi-bin' }))` serves a directory; `SCRIPT_NAME` includes
 * `req.baseUrl`. As a route, `app.all('/report{/*rest}', cgi({ script: './report.pl' }))`,
 * the route's literal prefix (`/report`) is the mount unless `mountPath` says otherwise.
 * No script: `next()`. Errors before the response: `next(err)` with `status`, `expose`,
 * `headers`, except 408, 411, 413, 503 and 504, answered at once, and, with `debug`, a script's
 * 5xx, answered with the development page. Local redirects re-enter the app as a GET.
 *
 * @throws CgiOptionError (a TypeError) at creation, naming a wrong option.
 */
export function cgi(options: CgiExpressOptions): RequestHandler & { readonly gateway: CgiGateway } {
  const { gateway, user, trustApp } = createFrameworkGateway(options);
  const host: CgiHost<Context> = {
    request: ({ req, res }) =>
      requestFromNode(gateway, req, res, {
        basePath: req.baseUrl,
        // Below the mount as sent: Express rewrites req.url ("/app" becomes "/", "//" is squashed).
        url: req.originalUrl.startsWith(req.baseUrl) ? req.originalUrl.slice(req.baseUrl.length) : req.url,
        originalUrl: req.originalUrl,
        mountPath: gateway.config.mountPath || routeLiteralPrefix(ownRoute(req)?.path),
        user: user?.(req),
        remoteAddress: trustApp ? req.ip : undefined,
        secure: trustApp ? req.secure : undefined,
        host: trustApp ? req.hostname : undefined,
        rawBody: (req as { rawBody?: Buffer | string }).rawBody,
      }),
    fallThrough: ({ req, res, next }) => {
      sendContinue(req, res);
      next();
    },
    reenter: ({ req, res, next }, location, chain) => {
      prepareReentry(req, location, chain);
      // Nothing of the first dispatch carries over (Express 4 keeps query, route and params as
      // own properties), and the router takes baseUrl as a parent prefix.
      for (const key of ['query', 'route', 'params'] as const) delete (req as Partial<Request>)[key];
      req.baseUrl = '';
      // Through the whole app again, from the top: the target may be a script or a modern
      // route. If nothing answers it, that is a 404, never a fall back into this dispatch.
      topApp(req.app as unknown as App).handle(req, res, (error?: unknown) =>
        next(error ?? publicError(new CgiError('ERR_CGI_NOT_FOUND', 'nothing answers the local redirect target'))),
      );
    },
    send: ({ res }, result) => sendCgiResult(result, res, { drainMs: gateway.config.timeout }),
    // A development page (option `debug`) is sent as it is: the app's error handler would make its own.
    fail: ({ res, next }, error) =>
      error.debugPage !== undefined || ANSWERED_AT_ONCE.has(error.status) ? sendCgiError(error, res) : next(error),
    abort: ({ res }) => res.destroy(),
  };

  /** The route this middleware serves, if it is one: Express never clears a previous `req.route`. */
  function ownRoute(req: Request): { path?: unknown } | undefined {
    const route = req.route as { path?: unknown; stack?: Array<{ handle?: unknown }> } | undefined;
    return route?.stack?.some((layer) => layer.handle === cgiMiddleware) ? route : undefined;
  }

  function cgiMiddleware(req: Request, res: Response, next: NextFunction): void {
    void dispatchCgi(gateway, host, { req, res, next });
  }
  return Object.assign(cgiMiddleware, { gateway });
}

/** The top-most application of a (possibly mounted) app: a local redirect is a site-absolute path. */
function topApp(app: App): App {
  let current = app;
  while (current.parent !== undefined && current.parent !== null) current = current.parent;
  return current;
}

export { acceptExpectContinue, type CgiUser } from '@cgibridge/core';
