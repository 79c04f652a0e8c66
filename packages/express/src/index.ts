/**
 * @cgibridge/express: mount legacy CGI scripts in an Express 4 or 5 app.
 * @packageDocumentation
 */
import {
  CgiError,
  type CgiFrameworkOptions,
  type CgiGateway,
  createFrameworkGateway,
  prepareReentry,
  publicError,
  requestFromNode,
  routeLiteralPrefix,
  sendCgiResult,
  topApp,
} from '@cgibridge/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

type ExpressHandle = (req: Request, res: Response, done: (error?: unknown) => void) => void;

/** Options of {@link cgi}: the core options, `trustProxy: 'app'` (the app's `trust proxy`) and `user(req)`. */
export type CgiExpressOptions = CgiFrameworkOptions<Request>;

/**
 * Express middleware that runs CGI scripts (RFC 3875).
 *
 * `app.use('/cgi-bin', cgi({ root: './cgi-bin' }))` serves a directory; `SCRIPT_NAME` includes
 * `req.baseUrl`. As a route, `app.all('/report{/*rest}', cgi({ script: './report.pl' }))`,
 * the route's literal prefix (`/report`) is the mount unless `mountPath` says otherwise.
 * No script: `next()`. Errors before the response: `next(err)` with `status`, `expose`,
 * `headers`. Local redirects re-enter the app as a GET.
 *
 * @throws TypeError at creation, naming a wrong option.
 */
export function cgi(options: CgiExpressOptions): RequestHandler & { readonly gateway: CgiGateway } {
  const { gateway, user, trustApp } = createFrameworkGateway(options);

  async function handle(req: Request, res: Response, next: NextFunction): Promise<void> {
    // Below the mount as sent: Express rewrites req.url ("/app" becomes "/", "//" is squashed).
    const url = req.originalUrl.startsWith(req.baseUrl) ? req.originalUrl.slice(req.baseUrl.length) : req.url;
    const request = requestFromNode(gateway, req, res, {
      basePath: req.baseUrl,
      url,
      originalUrl: req.originalUrl,
      mountPath: gateway.config.mountPath || routeLiteralPrefix(ownRoute(req)?.path),
      user: user?.(req),
      remoteAddress: trustApp ? req.ip : undefined,
      secure: trustApp ? req.secure : undefined,
      host: trustApp ? req.hostname : undefined,
      rawBody: (req as { rawBody?: Buffer | string }).rawBody,
    });
    const result = request && (await gateway.run(request));
    if (!result) return next();
    if (result.kind === 'local-redirect') {
      prepareReentry(req, result.location);
      // Nothing of the first dispatch carries over (Express 4 keeps query, route and params as
      // own properties), and the router takes baseUrl as a parent prefix.
      for (const key of ['query', 'route', 'params'] as const) delete (req as Partial<Request>)[key];
      req.baseUrl = '';
      // Through the whole app again, from the top: the target may be a script or a modern
      // route. If nothing answers it, that is a 404, never a fall back into this dispatch.
      const app = topApp(req.app as unknown as { parent?: unknown; handle: ExpressHandle });
      app.handle(req, res, (error?: unknown) =>
        next(error ?? publicError(new CgiError('ERR_CGI_NOT_FOUND', 404, 'nothing answers the local redirect target'))),
      );
      return;
    }
    sendCgiResult(result, res);
  }

  /** The route this middleware serves, if it is one: Express never clears a previous `req.route`. */
  function ownRoute(req: Request): { path?: unknown } | undefined {
    const route = req.route as { path?: unknown; stack?: Array<{ handle?: unknown }> } | undefined;
    return route?.stack?.some((layer) => layer.handle === cgiMiddleware) ? route : undefined;
  }

  function cgiMiddleware(req: Request, res: Response, next: NextFunction): void {
    handle(req, res, next).catch((error: unknown) => {
      const failure = publicError(error, gateway.config.logger);
      // 408/411/413 leave a body unread. finalhandler waits for it before answering,
      // which a stalled client never sends: give the answer a second, then hang up.
      if (failure.headers.Connection === 'close') {
        setTimeout(() => res.writableFinished || res.destroy(), 1000).unref();
      }
      next(failure);
    });
  }
  return Object.assign(cgiMiddleware, { gateway });
}

export type { CgiUser } from '@cgibridge/core';
