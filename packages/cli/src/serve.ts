import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type CgiEndEvent, type CgiLogger, consoleLogger, createCgiHandler, errorBody } from '@cgibridge/core';
import type { ServeCommand } from './args.js';
import { fdBudget } from './fd-budget.js';

/** A running `cgibridge serve`. */
export interface RunningServer {
  readonly server: Server;
  /** The URL the scripts are served under, e.g. `http://127.0.0.1:8080/cgi-bin/`. */
  readonly url: string;
  /** Stops accepting connections, kills running scripts (process groups) and closes every connection. */
  close(): Promise<void>;
}

function formatEnd(event: CgiEndEvent): string {
  const status =
    event.localRedirect !== undefined
      ? `-> ${JSON.stringify(event.localRedirect).slice(1, -1)} (local redirect)`
      : event.status === 0
        ? '-'
        : String(event.status);
  const exit =
    event.signal !== null ? ` signal=${event.signal}` : event.exitCode !== null ? ` exit=${event.exitCode}` : '';
  const error = event.errorCode === undefined ? '' : ` ${event.errorCode}`;
  return `${event.method} ${JSON.stringify(event.target).slice(1, -1)} ${status} ${event.durationMs}ms${exit}${error}`;
}

/**
 * Starts the server `cgibridge serve` describes.
 * @throws TypeError when an option is wrong (message names it), or a listen error.
 */
export async function serve(command: ServeCommand, logger: CgiLogger = consoleLogger): Promise<RunningServer> {
  const wanted = command.options.maxConcurrent ?? 64;
  const budget = fdBudget(wanted === Number.POSITIVE_INFINITY ? 1_000_000 : wanted);
  if (budget.maxConcurrent < wanted) {
    logger.warn(
      `open-file limit ${budget.limit}: at most ${budget.maxConcurrent} scripts and ${budget.maxConnections} connections at once (raise it with ulimit -n)`,
    );
  }
  const handler = createCgiHandler({
    ...command.options,
    maxConcurrent: budget.maxConcurrent,
    logger,
    onEvent: command.quiet
      ? undefined
      : (event) => {
          if (event.type === 'end') logger.info(formatEnd(event));
        },
  });
  const server = createServer((req, res) => {
    handler(req, res, () => {
      const mount = handler.gateway.config.mountPath;
      if (mount !== '' && (req.url === '/' || req.url === '')) {
        // The site root of a CLI that only serves a mount: point the visitor at it.
        if (!command.quiet) logger.info(`${req.method} / 302`);
        res.writeHead(302, { Location: `${mount}/`, 'Content-Length': '0' });
        res.end();
        return;
      }
      // Outside the mount: nothing here serves it.
      if (!command.quiet) logger.info(`${req.method} ${JSON.stringify(req.url).slice(1, -1)} 404`);
      const body = errorBody(404);
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  if (budget.maxConnections !== undefined) server.maxConnections = budget.maxConnections;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(command.port, command.host, () => {
      server.off('error', fail);
      done();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}${command.options.mountPath.replace(/\/$/, '')}/`;
  logger.info(`serving ${resolve(command.options.root)} at ${url}`);

  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((done) => server.close(() => done()));
        server.closeIdleConnections();
        await handler.gateway.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
