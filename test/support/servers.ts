import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CgiEvent, type CgiLogger, type CgiOptions, createCgiHandler } from '@cgibridge/core';

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
  close(): Promise<void>;
}

/** A way to mount cgibridge on a real server; the conformance suite runs against each one. */
export interface Adapter {
  readonly name: string;
  /**
   * Starts a server with the gateway at `options.mountPath`, and behind it a modern route
   * answering `/modern/*` and `/cgi-bin/modern/*` with JSON `{ modern, method, url }`.
   */
  start(options: CgiOptions): Promise<TestServer>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** The plain `node:http` handler, with a "modern" route behind it via `next()`. */
export const nodeAdapter: Adapter = {
  name: 'node:http',
  async start(options) {
    const logger = new MemoryLogger();
    const events: CgiEvent[] = [];
    const handler = createCgiHandler({ ...options, logger, onEvent: (event) => events.push(event) });
    const server = createServer((req, res) => {
      handler(req, res, () => {
        if (req.url?.startsWith('/modern/') || req.url?.startsWith('/cgi-bin/modern/')) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ modern: true, method: req.method, url: req.url }));
          return;
        }
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('app 404\n');
      });
    });
    const port = await listen(server);
    return {
      origin: `http://127.0.0.1:${port}`,
      port,
      logger,
      events,
      running: () => handler.gateway.running,
      async close() {
        await handler.gateway.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  },
};

/** Every adapter the conformance suite must pass. */
export const adapters: readonly Adapter[] = [nodeAdapter];
