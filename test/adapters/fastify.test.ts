import type { CgiError } from '@cgibridge/core';
import { cgi } from '@cgibridge/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeScriptRoot, type ScriptRoot } from '../support/fixtures.js';
import { json, request } from '../support/http.js';
import { alive, eventually, readPids } from '../support/suite.js';

type Env = { env: Record<string, string> };
let root: ScriptRoot;
const apps: FastifyInstance[] = [];
beforeAll(() => {
  root = makeScriptRoot();
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  root.cleanup();
});

async function serve(app: FastifyInstance): Promise<string> {
  apps.push(app);
  return app.listen({ port: 0, host: '127.0.0.1' });
}

describe('@cgibridge/fastify', () => {
  it('mounts under nested prefixes, with the whole prefix in SCRIPT_NAME', async () => {
    const app = Fastify();
    await app.register(async (v1) => v1.register(cgi, { prefix: '/legacy', root: root.root, logger: false }), {
      prefix: '/v1',
    });
    const origin = await serve(app);
    const { env } = json<Env>(await request(`${origin}/v1/legacy/env.py/x?y=1`));
    expect(env).toMatchObject({
      SCRIPT_NAME: '/v1/legacy/env.py',
      PATH_INFO: '/x',
      REQUEST_URI: '/v1/legacy/env.py/x?y=1',
    });
  });

  it("takes the peer, scheme and host from Fastify's trustProxy with trustProxy: 'app', and the user from user()", async () => {
    const app = Fastify({ trustProxy: true });
    await app.register(cgi, {
      prefix: '/cgi-bin',
      root: root.root,
      logger: false,
      trustProxy: 'app',
      user: (req) =>
        req.headers['x-test-user'] ? { name: String(req.headers['x-test-user']), authType: 'Basic' } : undefined,
    });
    const origin = await serve(app);
    const { env } = json<Env>(
      await request(`${origin}/cgi-bin/env.py`, {
        headers: {
          'X-Forwarded-For': '198.51.100.4',
          'X-Forwarded-Proto': 'https',
          'X-Forwarded-Host': 'shop.example',
          'X-Test-User': 'ada',
        },
      }),
    );
    expect(env).toMatchObject({
      REMOTE_ADDR: '198.51.100.4',
      HTTPS: 'on',
      SERVER_NAME: 'shop.example',
      REMOTE_USER: 'ada',
      AUTH_TYPE: 'Basic',
    });
  });

  it("hands errors to the app's error handler as CgiErrors with statusCode, code and headers", async () => {
    const app = Fastify();
    const seen: CgiError[] = [];
    app.setErrorHandler((error: CgiError, _request, reply) => {
      seen.push(error);
      return reply.code(error.statusCode).send(`handled ${error.code}\n`);
    });
    await app.register(cgi, { prefix: '/cgi-bin', root: root.root, logger: false });
    const origin = await serve(app);
    const reply = await request(`${origin}/cgi-bin/run.bat`);
    expect(reply.status).toBe(403);
    expect(reply.text).toBe('handled ERR_CGI_FORBIDDEN_SCRIPT\n');
    expect(seen[0]).toMatchObject({ statusCode: 403, status: 403, expose: true });
    const busy = await request(`${origin}/cgi-bin/secret.txt`);
    expect(busy.status).toBe(500);
    expect(seen[1]).toMatchObject({ code: 'ERR_CGI_NOT_EXECUTABLE', expose: false });
  });

  it('logs through the app logger by default, and the app sees the body it never parsed', async () => {
    const lines: string[] = [];
    const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } } });
    await app.register(cgi, { prefix: '/cgi-bin', root: root.root });
    const origin = await serve(app);
    const reply = await request(`${origin}/cgi-bin/echo.py`, {
      method: 'POST',
      body: '{"not":"parsed by fastify"}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(reply.text).toBe('{"not":"parsed by fastify"}');
    await request(`${origin}/cgi-bin/stderr.sh`);
    await eventually(() => lines.some((line) => line.includes('stderr: second warning')), 5000, 'a pino line');
  });

  it('answers an unknown URL below the prefix with the app not-found handler', async () => {
    const app = Fastify();
    await app.register(cgi, { prefix: '/cgi-bin', root: root.root, logger: false });
    app.setNotFoundHandler((_request, reply) => reply.code(404).send('app 404\n'));
    const origin = await serve(app);
    expect((await request(`${origin}/cgi-bin/no-such.sh`)).text).toBe('app 404\n');
  });

  it('kills the scripts still running when the app closes', async () => {
    const app = Fastify();
    const scopes: FastifyInstance[] = [];
    app.addHook('onRegister', (scope) => void scopes.push(scope));
    await app.register(cgi, { prefix: '/cgi-bin', root: root.root, logger: false, timeout: 60_000 });
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    const file = `${root.scratch}/fastify-close-pids`;
    const pending = request(`${origin}/cgi-bin/sleep.sh?${file}`).catch(() => null);
    const [script] = await readPids(file);
    expect(scopes.find((scope) => scope.cgi)?.cgi?.running).toBe(1);
    app.server.closeAllConnections();
    await app.close();
    await eventually(() => !alive(script as number), 5000, 'the script killed on close');
    await pending;
  });
});
