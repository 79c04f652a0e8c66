import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  acceptExpectContinue,
  type CgiEvent,
  type CgiGateway,
  type CgiLogger,
  type CgiOptions,
  createCgiFetchHandler,
  createCgiHandler,
  fetchInfoFromNode,
  splitTarget,
  stripMount,
} from '@cgibridge/core';
import { cgi as expressCgi } from '@cgibridge/express';
import { cgi as fastifyCgi } from '@cgibridge/fastify';
import { cgi as koaCgi } from '@cgibridge/koa';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import express5 from 'express';
import express4 from 'express4';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import Koa3 from 'koa';
import mount from 'koa-mount';
import Koa2 from 'koa2';

/** A logger that keeps every line, for asserting on what the operator sees. */
export class MemoryLogger implements CgiLogger {
  readonly lines: Array<{ level: string; message: string }> = [];
  debug(message: string) {
    this.lines.push({ level: 'debug', message });
  }
  info(message: string) {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string) {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string) {
    this.lines.push({ level: 'error', message });
  }
  text(): string {
    return this.lines.map((line) => `${line.level}: ${line.message}`).join('\n');
  }
}

/** A running server under test, reachable on 127.0.0.1. */
export interface TestServer {
  readonly origin: string;
  readonly port: number;
  readonly logger: MemoryLogger;
  readonly events: CgiEvent[];
  /** How many scripts the gateway is running now. */
  running(): number;
  /** The node:http server every host runs on (for observing its connections). */
  readonly http: Server;
  close(): Promise<void>;
}

/** A way to mount cgibridge on a real server; the conformance suite runs against each one. */
export interface Adapter {
  readonly name: string;
  /**
   * Starts a server with the gateway at `options.mountPath`, and behind it a modern route
   * answering `/modern/*` and `/cgi-bin/modern/*` with JSON `{ modern, method, url }`.
   * With `guard`, the app's own access check answers 401 for that path prefix first, mounted
   * the framework's usual way (Express `app.use(path)`, koa-mount).
   */
  start(options: CgiOptions, extras?: { guard?: string }): Promise<TestServer>;
  /**
   * Where a host differs from the others for a reason outside cgibridge (its runtime or its
   * router): the tests concerned then check the host's own behaviour there. Each says why.
   */
  readonly quirks?: HostQuirks;
}

/** What a host's runtime or router does its own way (see {@link Adapter.quirks}). */
export interface HostQuirks {
  /**
   * The status line carries the runtime's standard reason phrase: @hono/node-server writes the
   * head from `Response.status` alone, dropping the `statusText` the handler set.
   */
  readonly standardReasonPhrase?: boolean;
  /**
   * Repeated response fields other than Set-Cookie arrive as one line joined by ", ": a fetch
   * `Headers` object cannot hold them apart (RFC 9110 §5.3 makes both forms equivalent);
   * Set-Cookie stays apart and in order (`Headers.getSetCookie`).
   */
  readonly joinsRepeatedFields?: boolean;
  /** The runtime refuses a request-target with a backslash (400) before any handler runs (@hono/node-server). */
  readonly refusesBackslashTarget?: boolean;
  /**
   * The router matches the percent-decoded path (Hono), so an app guard on `/cgi-bin/admin`
   * answers `/cgi-bin/%61dmin/...` itself (401) before the gateway could redirect it.
   */
  readonly routesDecodedPath?: boolean;
  /**
   * The runtime writes the response from a fetch `Response` itself (@hono/node-server), so the
   * gateway cannot hold a short response's head and body for one write.
   */
  readonly writesOwnResponse?: boolean;
}

const GUARDED = 'guarded by the app\n';

async function listen(server: Server): Promise<number> {
  // Every host decides on Expect: 100-continue itself (the helper the adapters document).
  acceptExpectContinue(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function serverFor(
  server: Server,
  port: number,
  logger: MemoryLogger,
  events: CgiEvent[],
  gateway: CgiGateway,
): TestServer {
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    logger,
    events,
    running: () => gateway.running,
    http: server,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The "modern" part of every test app: JSON for /modern/* and /cgi-bin/modern/*, else a 404 of its own. */
function modern(method: string, url: string): { status: number; type: string; body: string } {
  if (url.startsWith('/modern/') || url.startsWith('/cgi-bin/modern/')) {
    return { status: 200, type: 'application/json', body: JSON.stringify({ modern: true, method, url }) };
  }
  return { status: 404, type: 'text/plain', body: 'app 404\n' };
}

/** The plain `node:http` handler, with a "modern" route behind it via `next()`. */
export const nodeAdapter: Adapter = {
  name: 'node:http',
  async start(options, { guard } = {}) {
    const logger = new MemoryLogger();
    const events: CgiEvent[] = [];
    const handler = createCgiHandler({ ...options, logger, onEvent: (event) => events.push(event) });
    const server = createServer((req, res) => {
      if (guard !== undefined && stripMount((req.url ?? '/').split('?')[0] as string, guard) !== null) {
        res.writeHead(401).end(GUARDED);
        return;
      }
      handler(req, res, () => {
        const reply = modern(req.method ?? 'GET', req.url ?? '/');
        res.writeHead(reply.status, { 'Content-Type': reply.type });
        res.end(reply.body);
      });
    });
    return serverFor(server, await listen(server), logger, events, handler.gateway);
  },
};

/** Express (4 or 5): `app.use(mountPath, cgi(...))`, modern routes after it, the default error handler. */
function expressAdapter(name: string, createApp: () => import('express').Express): Adapter {
  return {
    name,
    async start(options, { guard } = {}) {
      const logger = new MemoryLogger();
      const events: CgiEvent[] = [];
      const { mountPath = '', ...rest } = options;
      const middleware = expressCgi({ ...rest, logger, onEvent: (event) => events.push(event) });
      const app = createApp();
      // Express matches paths case-insensitively unless told otherwise; the suite expects exact mounts.
      app.set('case sensitive routing', true);
      if (guard !== undefined) app.use(guard, (_req, res) => void res.status(401).send(GUARDED));
      if (mountPath === '') app.use(middleware);
      else app.use(mountPath, middleware);
      app.use((req, res) => {
        const reply = modern(req.method, req.originalUrl);
        res.status(reply.status).type(reply.type).send(reply.body);
      });
      const server = createServer(app);
      return serverFor(server, await listen(server), logger, events, middleware.gateway);
    },
  };
}

/** Koa (2 or 3): `app.use(cgi({ mountPath, ... }))`, modern routes after it. */
function koaAdapter(name: string, Koa: typeof Koa3): Adapter {
  return {
    name,
    async start(options, { guard } = {}) {
      const logger = new MemoryLogger();
      const events: CgiEvent[] = [];
      const middleware = koaCgi({ ...options, logger, onEvent: (event) => events.push(event) });
      const app = new Koa();
      app.silent = true;
      if (guard !== undefined) {
        app.use(
          mount(guard, (ctx) => {
            ctx.status = 401;
            ctx.body = GUARDED;
          }),
        );
      }
      app.use(middleware);
      app.use((ctx) => {
        const reply = modern(ctx.method, ctx.url);
        ctx.status = reply.status;
        ctx.type = reply.type;
        ctx.body = reply.body;
      });
      const server = createServer(app.callback());
      return serverFor(server, await listen(server), logger, events, middleware.gateway);
    },
  };
}

/** Fastify 5: `app.register(cgi, { prefix })`, modern routes in the app's not-found handler. */
export const fastifyAdapter: Adapter = {
  name: 'fastify 5',
  async start(options, { guard } = {}) {
    const logger = new MemoryLogger();
    const events: CgiEvent[] = [];
    const { mountPath = '', ...rest } = options;
    // The app logs like a real one (to nowhere): every pass through its router adds response listeners.
    const app = Fastify({
      logger: { level: 'info', stream: new Writable({ write: (_chunk, _encoding, done) => done() }) },
    });
    // The plugin's scope holds its gateway (`cgi`): catch the scope as it is created.
    const scopes: FastifyInstance[] = [];
    app.addHook('onRegister', (scope) => void scopes.push(scope));
    if (guard !== undefined) {
      app.addHook('onRequest', async (request, reply) => {
        if (stripMount(splitTarget(request.url).path, guard) !== null) return reply.code(401).send(GUARDED);
      });
    }
    await app.register(fastifyCgi, { ...rest, prefix: mountPath, logger, onEvent: (event) => events.push(event) });
    app.setNotFoundHandler((request, reply) => {
      const reply_ = modern(request.method, request.url);
      return reply.code(reply_.status).type(reply_.type).send(reply_.body);
    });
    await app.ready();
    const gateway = scopes.find((scope) => scope.cgi !== undefined)?.cgi as CgiGateway;
    return serverFor(app.server, await listen(app.server), logger, events, gateway);
  },
};

/** Hono on @hono/node-server: the fetch handler on `app.all(mount/*)`, modern routes after it. */
export const honoAdapter: Adapter = {
  name: 'hono (fetch)',
  quirks: {
    standardReasonPhrase: true,
    joinsRepeatedFields: true,
    refusesBackslashTarget: true,
    routesDecodedPath: true,
    writesOwnResponse: true,
  },
  async start(options, { guard } = {}) {
    const logger = new MemoryLogger();
    const events: CgiEvent[] = [];
    const app = new Hono<{ Bindings: Partial<HttpBindings> }>();
    const cgi = createCgiFetchHandler({
      ...options,
      logger,
      onEvent: (event) => events.push(event),
      reenter: (request) => app.fetch(request),
    });
    if (guard !== undefined) app.use(`${guard}/*`, async (c) => c.text(GUARDED, 401));
    const mount = options.mountPath ?? '';
    const handler = async (c: import('hono').Context<{ Bindings: Partial<HttpBindings> }>, next: () => Promise<void>) =>
      (await cgi(c.req.raw, fetchInfoFromNode(c.env?.incoming, c.env?.outgoing))) ?? next();
    app.all(`${mount}/*`, handler);
    if (mount !== '') app.all(mount, handler);
    app.all('*', (c) => {
      const reply = modern(c.req.method, new URL(c.req.url).pathname + new URL(c.req.url).search);
      return c.body(reply.body, reply.status as 200, { 'Content-Type': reply.type });
    });
    // As serve() does: the listening host stands in for a missing Host (HTTP/1.0).
    const server = createServer(getRequestListener(app.fetch, { hostname: '127.0.0.1' }));
    return serverFor(server, await listen(server), logger, events, cgi.gateway);
  },
};

/** Every adapter the conformance suite must pass. */
export const adapters: readonly Adapter[] = [
  nodeAdapter,
  expressAdapter('express 5', () => express5()),
  expressAdapter('express 4', () => express4() as unknown as import('express').Express),
  koaAdapter('koa 3', Koa3),
  koaAdapter('koa 2', Koa2 as unknown as typeof Koa3),
  fastifyAdapter,
  honoAdapter,
];
