import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import {
  acceptExpectContinue,
  type CgiHandler,
  type CgiLog,
  type CgiLogger,
  createCgiHandler,
  errorBody,
  logAccess,
} from '@cgibridge/core';
import type { ServeCommand } from './args.js';
import { fdBudget } from './fd-budget.js';
import { createStaticHandler, type IsScript } from './static-files.js';

/** A running `cgibridge serve`. */
export interface RunningServer {
  readonly server: Server;
  /** The URL the scripts are served under, e.g. `http://127.0.0.1:8080/cgi-bin/`. */
  readonly url: string;
  /** The server's log (the gateway's): `--log-format`, one format for every line. */
  readonly log: CgiLog;
  /** Stops accepting connections, kills running scripts (process groups) and closes every connection. */
  close(): Promise<void>;
}

/** How long a client may take to send its request headers (slowloris): 10 s, checked every second. */
const HEADERS_TIMEOUT = 10_000;

/** What the CLI answers outside the scripts: the site root points at the first mount, anything else is 404. */
function outsideMounts(command: ServeCommand, handlers: readonly CgiHandler[]) {
  const { config } = (handlers as [CgiHandler])[0].gateway;
  return (req: IncomingMessage, res: ServerResponse) => {
    // The same access line as a script's, so every request reads alike in the log.
    if (!command.quiet) logAccess(config.logger, req, res);
    const mount = config.mountPath;
    const redirect = mount !== '' && command.static === undefined && (req.url === '/' || req.url === '');
    const body = redirect ? '' : errorBody(404);
    res.writeHead(redirect ? 302 : 404, {
      ...(redirect ? { Location: `${mount}/` } : { 'Content-Type': 'text/plain; charset=utf-8' }),
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };
}

/** What the operator must know before the first request: a tight descriptor limit, running as root. */
function warnAtStart(command: ServeCommand, budget: ReturnType<typeof fdBudget>, log: CgiLog): void {
  const wanted = command.options.maxConcurrent ?? 64;
  if (budget.maxConcurrent < wanted) {
    log.warn(
      `open-file limit ${budget.limit}: at most ${budget.maxConcurrent} scripts and ${budget.maxConnections} connections at once (raise it with ulimit -n)`,
    );
  }
  if (process.getuid?.() === 0 && command.mounts.some((mount) => mount.runAs === undefined)) {
    log.warn(
      'WARNING: running as root, and scripts will run as root too: give --user NAME (e.g. www-data or nobody) so a compromised script cannot own the machine',
    );
  }
}

/** Static files first (if any), then each mount in order, then the CLI's own 404. */
function chain(
  steps: ReadonlyArray<(req: IncomingMessage, res: ServerResponse, next: () => void) => void>,
  last: (req: IncomingMessage, res: ServerResponse) => void,
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const step = (i: number): void => {
      const handler = steps[i];
      if (handler === undefined) last(req, res);
      else handler(req, res, () => step(i + 1));
    };
    step(0);
  };
}

/** A file the static handler must never send: anything in a script root, executable, or mapped to an interpreter. */
function scriptTest(handlers: readonly CgiHandler[]): IsScript {
  return (filename, stats) =>
    (stats.mode & 0o111) !== 0 ||
    handlers.some(({ gateway: { config } }) => {
      const root = config.scriptRoot.real;
      return filename.startsWith(root.endsWith(sep) ? root : root + sep) || config.interpreters.has(extname(filename));
    });
}

/**
 * Caps the connections one peer may hold, so a few slow clients cannot take every connection
 * the open-file limit allows. Trusted proxies are exempt: every client arrives through them.
 */
function capConnectionsPerPeer(server: Server, cap: number, trusted: (address: string) => boolean): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? '';
    if (trusted(peer.replace(/^::ffff:(?=\d+\.)/, ''))) return;
    const count = (open.get(peer) ?? 0) + 1;
    if (count > cap) {
      socket.destroy();
      return;
    }
    open.set(peer, count);
    socket.once('close', () => {
      const left = (open.get(peer) ?? 1) - 1;
      if (left === 0) open.delete(peer);
      else open.set(peer, left);
    });
  });
}

/**
 * Starts the server `cgibridge serve` describes.
 * @param logger - where log lines go, in `--log-format` (default: the console).
 * @throws CgiOptionError (a TypeError) when an option is wrong (it names it), or a listen error.
 */
export async function serve(
  command: ServeCommand,
  logger?: CgiLogger,
  announce?: (line: string) => void,
): Promise<RunningServer> {
  const wanted = command.options.maxConcurrent ?? 64;
  const budget = fdBudget(wanted === Number.POSITIVE_INFINITY ? 1_000_000 : wanted);
  const share = Math.max(1, Math.floor(budget.maxConcurrent / command.mounts.length));
  const handlers = command.mounts.map((mount) =>
    createCgiHandler({
      ...mount,
      maxConcurrent: Math.min(mount.maxConcurrent ?? share, share),
      // PATH_TRANSLATED maps into the static directory when there is one (RFC 3875 4.1.6).
      documentRoot: mount.documentRoot ?? command.static,
      ...(logger === undefined ? {} : { logger }),
      accessLog: !command.quiet,
    }),
  );
  const [first] = handlers as [CgiHandler];
  const { config } = first.gateway;
  const log = config.logger;
  warnAtStart(command, budget, log);
  const files = command.static === undefined ? [] : [createStaticHandler(command.static, scriptTest(handlers))];
  // The script's own timeout bounds the upload too; this bounds a request nothing answers yet.
  const requestTimeout = config.timeout === Number.POSITIVE_INFINITY ? 0 : config.timeout + config.killGrace + 1000;
  const server = createServer(
    {
      headersTimeout: requestTimeout === 0 ? HEADERS_TIMEOUT : Math.min(HEADERS_TIMEOUT, requestTimeout),
      requestTimeout,
      connectionsCheckingInterval: 1000,
    },
    chain([...files, ...handlers], outsideMounts(command, handlers)),
  );
  // The gateway decides on Expect: 100-continue (413, 503, 404 before the upload is sent).
  acceptExpectContinue(server);
  if (budget.maxConnections !== undefined) server.maxConnections = budget.maxConnections;
  // One peer gets at most a quarter of the connections the open-file limit allows.
  capConnectionsPerPeer(server, Math.max(2, Math.floor((budget.maxConnections ?? 1024) / 4)), config.trustProxy);
  await listen(server, command.port, command.host);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}${config.mountPath}/`;
  const what = config.script?.path ?? config.root?.path ?? resolve('.');
  const more = handlers.length > 1 ? ` and ${handlers.length - 1} more mounts` : '';
  (announce ?? ((line) => log.info(line)))(`serving ${what} at ${url}${more} (spawner: ${first.gateway.spawner.name})`);
  return { server, url, log, close: closer(server, handlers) };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      done();
    });
  });
}

function closer(server: Server, handlers: readonly CgiHandler[]): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      const stopped = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      await Promise.all(handlers.map((handler) => handler.gateway.close()));
      server.closeAllConnections();
      await stopped;
    })();
    return closing;
  };
}
