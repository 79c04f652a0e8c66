import type { IncomingMessage, ServerResponse } from 'node:http';
import { CgiError } from './errors.js';
import { type CgiGateway, createCgiGateway } from './gateway.js';
import { prepareReentry, requestFromNode } from './node-request.js';
import type { CgiOptions } from './options.js';
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
 * Creates a `(req, res, next?)` handler that runs CGI scripts for `node:http`.
 *
 * Requests outside `mountPath`, or naming no script, go to `next()` when given, else
 * get a 404. Errors before the response starts are answered with their status and a
 * generic body (and logged with the cause); after it starts, the connection is destroyed.
 * A local redirect (RFC 3875 §6.2.2) runs through this handler again as a GET.
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
  const { logger } = gateway.config;

  async function handle(req: IncomingMessage, res: ServerResponse, next: CgiNext | undefined): Promise<void> {
    let request: ReturnType<typeof requestFromNode> = null;
    try {
      const url = req.url ?? '/';
      request = requestFromNode(gateway, req, res, { basePath: '', url, originalUrl: url });
      if (request === null) {
        if (next) next();
        else sendCgiError(notFound(), res);
        return;
      }
      const result = await gateway.run(request);
      if (result === null) {
        if (next) next();
        else {
          gateway.report(request, 404);
          sendCgiError(notFound(), res);
        }
        return;
      }
      if (result.kind === 'local-redirect') {
        prepareReentry(req, result.location);
        await handle(req, res, next);
        return;
      }
      sendCgiResult(result, res);
    } catch (error) {
      if (!(error instanceof CgiError)) logger.error(`internal error: ${(error as Error)?.stack ?? String(error)}`);
      sendCgiError(error instanceof CgiError ? error : new CgiError('ERR_CGI_SPAWN', 500, 'internal error'), res);
    }
  }

  function cgiHandler(req: IncomingMessage, res: ServerResponse, next?: CgiNext): void {
    void handle(req, res, next);
  }

  return Object.assign(cgiHandler, { gateway });
}
