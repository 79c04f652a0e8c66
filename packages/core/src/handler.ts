import type { IncomingMessage, ServerResponse } from 'node:http';
import { CgiError } from './errors.js';
import { type CgiGateway, type CgiResult, createCgiGateway } from './gateway.js';
import type { CgiOptions } from './options.js';
import { type CgiRequest, createCgiRequest, nextRequestId, splitTarget } from './request.js';
import { notFound, sendCgiError, sendCgiResult } from './send-result.js';

/** Connect-style `next`: called with nothing to fall through, or with an error. */
export type CgiNext = (error?: unknown) => void;

/** A `node:http` request handler that also works as Connect/Express middleware. */
export interface CgiHandler {
  (req: IncomingMessage, res: ServerResponse, next?: CgiNext): void;
  /** The engine behind the handler (running count, `close()` for shutdown). */
  readonly gateway: CgiGateway;
}

/**
 * Returns the raw path below `mountPath`, matching whole segments only
 * (`/cgi-bin` matches `/cgi-bin` and `/cgi-bin/x`, never `/cgi-binX`), or `null`.
 */
export function stripMount(path: string, mountPath: string): string | null {
  if (mountPath === '') return path.startsWith('/') ? path : null;
  if (path === mountPath) return '';
  if (path.startsWith(mountPath) && path.charCodeAt(mountPath.length) === 0x2f) return path.slice(mountPath.length);
  return null;
}

const BODY_HEADERS = new Set(['content-length', 'content-type', 'transfer-encoding']);

/**
 * The request a local redirect (RFC 3875 §6.2.2) turns into: a GET for the new
 * location, with the original headers but no body.
 */
export function redirectedRequest(request: CgiRequest, location: string, path: string, query: string): CgiRequest {
  const rawHeaders: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] as string;
    if (!BODY_HEADERS.has(name.toLowerCase())) rawHeaders.push(name, request.rawHeaders[i + 1] as string);
  }
  return {
    ...request,
    id: nextRequestId(),
    method: 'GET',
    target: location,
    path,
    query,
    rawHeaders,
    body: null,
    redirects: request.redirects + 1,
  };
}

/**
 * Creates a `(req, res, next?)` handler that runs CGI scripts for `node:http`.
 *
 * Requests outside `mountPath`, or naming no script, go to `next()` when given, else
 * get a 404. Errors before the response starts are answered with their status and a
 * generic body (and logged with the cause); after it starts, the connection is destroyed.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createCgiHandler } from '@cgibridge/core';
 *
 * const cgi = createCgiHandler({ root: './cgi-bin', mountPath: '/cgi-bin', interpreters: { '.py': 'python3' } });
 * createServer(cgi).listen(8080);
 * ```
 * @throws TypeError at creation, naming a wrong option.
 */
export function createCgiHandler(options: CgiOptions): CgiHandler {
  const gateway = createCgiGateway(options);
  const { mountPath, logger } = gateway.config;

  /**
   * Hands the request on: to `next()` when there is one (after a local redirect, as a GET
   * for the new location, as if the client had asked for it), else a 404.
   */
  function fallThrough(
    request: CgiRequest | null,
    req: IncomingMessage,
    res: ServerResponse,
    next: CgiNext | undefined,
  ) {
    if (next !== undefined) {
      if (request !== null && request.redirects > 0) {
        req.method = 'GET';
        req.url = request.target;
      }
      next();
      return;
    }
    if (request !== null) gateway.report(request, 404);
    sendCgiError(notFound(), res);
  }

  async function dispatch(request: CgiRequest, req: IncomingMessage, res: ServerResponse, next: CgiNext | undefined) {
    let result: CgiResult | null;
    try {
      result = await gateway.run(request);
    } catch (error) {
      if (!(error instanceof CgiError)) {
        logger.error(`${request.id} internal error: ${(error as Error)?.stack ?? String(error)}`);
        gateway.report(request, 500, 'ERR_INTERNAL');
      }
      sendCgiError(error instanceof CgiError ? error : new CgiError('ERR_CGI_SPAWN', 500, 'internal error'), res);
      return;
    }
    if (result === null) {
      fallThrough(request, req, res, next);
      return;
    }
    if (result.kind === 'local-redirect') {
      const { path, query } = splitTarget(result.location);
      const below = stripMount(path, mountPath);
      // A target outside this gateway's mount names no script here; it still goes on as a GET.
      const redirected = redirectedRequest(request, result.location, below ?? path, query);
      if (below === null) fallThrough(redirected, req, res, next);
      else await dispatch(redirected, req, res, next);
      return;
    }
    sendCgiResult(result, res);
  }

  function cgiHandler(req: IncomingMessage, res: ServerResponse, next?: CgiNext): void {
    const { path, query } = splitTarget(req.url ?? '/');
    const below = stripMount(path, mountPath);
    if (below === null) {
      fallThrough(null, req, res, next);
      return;
    }
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const request = createCgiRequest(req, mountPath, below, query, controller.signal);
    void dispatch(request, req, res, next);
  }

  return Object.assign(cgiHandler, { gateway });
}
