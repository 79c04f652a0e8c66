import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CgiHost, dispatchCgi } from './dispatch.js';
import { type CgiGateway, createCgiGateway } from './gateway.js';
import { prepareReentry, requestFromNode, sendContinue } from './node-request.js';
import type { CgiOptions } from './options.js';
import { sendCgiError, sendCgiResult } from './send-result.js';

/** Connect-style `next`: called with nothing to fall through, or with an error. */
export type CgiNext = (error?: unknown) => void;

/** A `node:http` request handler that also works as Connect/Express middleware. */
export interface CgiHandler {
  (req: IncomingMessage, res: ServerResponse, next?: CgiNext): void;
  /** The engine behind the handler (running count, `close()` for shutdown). */
  readonly gateway: CgiGateway;
}

interface NodeContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly next: CgiNext | undefined;
}

/** The plain `node:http` host: no framework, a local redirect runs through this handler again. */
function nodeHost(gateway: CgiGateway): CgiHost<NodeContext> {
  const host: CgiHost<NodeContext> = {
    request: ({ req, res }) => {
      const url = req.url ?? '/';
      return requestFromNode(gateway, req, res, { basePath: '', url, originalUrl: url });
    },
    fallThrough: ({ req, res, next }) => {
      if (next === undefined) return false;
      sendContinue(req, res);
      next();
      return undefined;
    },
    reenter: (ctx, location, chain) => {
      prepareReentry(ctx.req, location, chain);
      return dispatchCgi(gateway, host, ctx);
    },
    send: ({ res }, result) => sendCgiResult(result, res, { drainMs: gateway.config.timeout }),
    fail: ({ res }, error) => sendCgiError(error, res),
    abort: ({ res }) => res.destroy(),
  };
  return host;
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
 * @throws CgiOptionError (a TypeError) at creation, naming a wrong option.
 */
export function createCgiHandler(options: CgiOptions): CgiHandler {
  const gateway = createCgiGateway(options);
  const host = nodeHost(gateway);

  function cgiHandler(req: IncomingMessage, res: ServerResponse, next?: CgiNext): void {
    void dispatchCgi(gateway, host, { req, res, next });
  }

  return Object.assign(cgiHandler, { gateway });
}
