import { type CgiGateway, createCgiGateway } from './gateway.js';
import type { CgiOptions } from './options.js';
import type { CgiUser } from './request.js';

/**
 * Options of a framework adapter: the core options, plus what only the application can
 * supply. `Req` is what the framework hands a middleware (Express `req`, Koa `ctx`).
 */
export interface CgiFrameworkOptions<Req> extends Omit<CgiOptions, 'trustProxy'> {
  /**
   * As in core, or `'app'`: take `REMOTE_ADDR`, `HTTPS` and `SERVER_NAME` from the
   * framework's own proxy trust (Express `trust proxy`, Koa `app.proxy`). Default `false`.
   */
  trustProxy?: CgiOptions['trustProxy'] | 'app';
  /** The authenticated user from the app's own auth middleware: `REMOTE_USER`/`AUTH_TYPE`. */
  user?: (req: Req) => CgiUser | undefined;
}

/**
 * Validates adapter options and creates the gateway behind an adapter.
 * @throws CgiOptionError (a TypeError) naming a wrong option.
 */
export function createFrameworkGateway<Req>(options: CgiFrameworkOptions<Req>): {
  gateway: CgiGateway;
  user: ((req: Req) => CgiUser | undefined) | undefined;
  /** Whether to take the peer from the framework (`trustProxy: 'app'`). */
  trustApp: boolean;
} {
  const { user, trustProxy, ...rest } = options ?? {};
  if (user !== undefined && typeof user !== 'function') {
    throw new TypeError('cgibridge: option "user" must be a function of the request');
  }
  const trustApp = trustProxy === 'app';
  const gateway = createCgiGateway(trustApp || trustProxy === undefined ? rest : { ...rest, trustProxy });
  return { gateway, user, trustApp };
}

/** The literal start of a route pattern, the gateway's mount there: `/report` for `/report{/*rest}`, `/r/:id`, `/r*`. */
export function routeLiteralPrefix(routePath: unknown): string {
  if (typeof routePath !== 'string') return '';
  return (/^[^:*{(?]*/.exec(routePath)?.[0] ?? '').replace(/\/+$/, '');
}
