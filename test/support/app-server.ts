import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { makeScriptRoot, type ScriptRoot } from './fixtures.js';

/** Serves a request listener (an Express app, a Koa callback) on 127.0.0.1, port 0. */
export async function listenOn(listener: RequestListener): Promise<{ origin: string; close: () => Promise<void> }> {
  const server: Server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Registers a fresh script root and a pool of servers for a test file: `serve()` listens and
 * remembers, everything is closed and removed after the file.
 */
export function useAppServers(): { root: () => ScriptRoot; serve: (listener: RequestListener) => Promise<string> } {
  let root: ScriptRoot | undefined;
  const servers: Array<Awaited<ReturnType<typeof listenOn>>> = [];
  beforeAll(() => {
    root = makeScriptRoot();
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    root?.cleanup();
  });
  return {
    root: () => root as ScriptRoot,
    async serve(listener) {
      const server = await listenOn(listener);
      servers.push(server);
      return server.origin;
    },
  };
}
