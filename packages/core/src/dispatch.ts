import { STATUS_CODES } from 'node:http';
import { attachDebugPage } from './debug-page.js';
import { asCgiError, CgiError } from './errors.js';
import type { CgiGateway } from './gateway.js';
import type { CgiLogger } from './logger.js';
import type { CgiRedirectChain, CgiRequest } from './request.js';
import type { CgiDocumentResult, CgiResult } from './results.js';

/**
 * What a host (node:http, Express, Koa, a fetch handler) supplies to the one dispatch
 * sequence. `Ctx` is whatever the host calls a request in flight (`{ req, res, next }`,
 * Koa's `ctx`, a `Request`). Nothing here is tied to `IncomingMessage`/`ServerResponse`.
 */
export interface CgiHost<Ctx> {
  /** The neutral request, or `null` when the URL is outside the gateway's mount. May throw a CgiError. */
  request(ctx: Ctx): CgiRequest | null;
  /** No script answers: let the application go on. Returns `false` when there is nothing to go on to (then 404). */
  fallThrough(ctx: Ctx): unknown;
  /** Serves `location` as a fresh GET through the whole application, carrying the redirect chain. */
  reenter(ctx: Ctx, location: string, chain: CgiRedirectChain): unknown;
  /** Sends a document or client redirect; its body, if any, is still streaming. */
  send(ctx: Ctx, result: CgiDocumentResult): unknown;
  /**
   * Answers an error before anything was sent. The error is already public (generic message, no
   * stack); with the `debug` option a script's 5xx carries `debugPage`, to send instead of the usual body.
   */
  fail(ctx: Ctx, error: CgiError): unknown;
  /** The response started and then its body failed: cut the connection, a truncated response must not look complete. */
  abort(ctx: Ctx): void;
}

/**
 * The one dispatch every host runs: build the request → run → fall through or 404 → local
 * redirect re-entry → send → error. Resolves with whatever the host's step returned (Koa's
 * `next()` promise, a fetch `Response`).
 */
export async function dispatchCgi<Ctx>(gateway: CgiGateway, host: CgiHost<Ctx>, ctx: Ctx): Promise<unknown> {
  let request: CgiRequest | null = null;
  let result: CgiResult | null = null;
  try {
    request = host.request(ctx);
    if (request !== null) result = await gateway.run(request);
  } catch (error) {
    const shown = publicError(error, gateway.config.logger);
    if (gateway.config.debug) await attachDebugPage(shown, error, request);
    return host.fail(ctx, shown);
  }
  if (result === null) {
    const fell = host.fallThrough(ctx);
    if (fell !== false) return fell;
    if (request !== null) gateway.report(request, 404, 'ERR_CGI_NOT_FOUND');
    return host.fail(ctx, publicError(new CgiError('ERR_CGI_NOT_FOUND', 'no script at this URL')));
  }
  if (result.kind === 'local-redirect') return host.reenter(ctx, result.location, result.chain);
  // After the headers an error can only abort: the one place that rule lives.
  result.body?.once('error', () => host.abort(ctx));
  return host.send(ctx, result);
}

/**
 * The form of an error to hand to a client or a framework's error handling (`next(err)`,
 * Koa's `ctx.onerror`): same `code`, `status`, `expose` and `headers`, but only the status
 * text as message (a detailed reason such as "its real path leaves the script root" would
 * tell a client what exists on disk) and no stack frames. The detailed message of a
 * CgiError was already logged by the gateway; anything else is logged here with its stack.
 */
export function publicError(error: unknown, logger?: CgiLogger): CgiError {
  const source = asCgiError(error);
  if (!(error instanceof CgiError)) logger?.error(source.message);
  const copy = new CgiError(source.code, STATUS_CODES[source.status] ?? 'Error');
  copy.stack = `CgiError: ${copy.message}`;
  return copy;
}
