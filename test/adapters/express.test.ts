import { connect } from 'node:net';
import { join } from 'node:path';
import type { CgiEvent } from '@cgibridge/core';
import { cgi } from '@cgibridge/express';
import express5, { type ErrorRequestHandler, type Express } from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
import { useAppServers } from '../support/app-server.js';
import { json, request } from '../support/http.js';
import { MemoryLogger } from '../support/servers.js';
import { eventually } from '../support/suite.js';

type Env = { env: Record<string, string> };
const servers = useAppServers();
const serve = (app: Express) => servers.serve(app);
const root = {
  get root() {
    return servers.root().root;
  },
};

describe.each([
  ['express 5', () => express5(), '/report{/*rest}'],
  ['express 4', () => express4() as unknown as Express, '/report*'],
] as const)('@cgibridge/express with %s', (_name, createApp, route) => {
  it('runs one script at a route, the route prefix as SCRIPT_NAME and the rest as PATH_INFO', async () => {
    const app = createApp();
    app.all(route, cgi({ script: join(root.root, 'env.py'), logger: false }));
    const origin = await serve(app);
    const deep = json<Env>(await request(`${origin}/report/2024/q1?csv`)).env;
    expect(deep).toMatchObject({ SCRIPT_NAME: '/report', PATH_INFO: '/2024/q1', QUERY_STRING: 'csv' });
    const top = json<Env>(await request(`${origin}/report`)).env;
    expect(top.SCRIPT_NAME).toBe('/report');
    expect(top.PATH_INFO).toBeUndefined();
  });

  it('starts no script for a client that left while an earlier async middleware ran', async () => {
    const events: CgiEvent[] = [];
    const app = createApp();
    app.use((_req, _res, next) => void setTimeout(next, 300));
    app.use('/cgi-bin', cgi({ root: root.root, logger: false, onEvent: (event) => events.push(event) }));
    const origin = await serve(app);
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await eventually(() => events.some((event) => event.type === 'end'), 5000, 'the end event');
    expect(events.map((event) => event.type)).toEqual(['end']);
    expect(events[0]).toMatchObject({ status: 499, errorCode: 'ERR_CGI_CLIENT_GONE' });
  });

  it('refuses to run a script with a body a parser already consumed, and says why', async () => {
    const logger = new MemoryLogger();
    const app = createApp();
    app.use(express5.urlencoded({ extended: false }));
    app.use('/cgi-bin', cgi({ root: root.root, logger }));
    const origin = await serve(app);
    const reply = await request(`${origin}/cgi-bin/form.pl`, {
      method: 'POST',
      body: 'name=Ada',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(reply.status).toBe(500);
    expect(reply.text).not.toContain('name=');
    expect(logger.text()).toMatch(
      /already read by another middleware \(a body parser\?\) and no copy of its exact bytes was kept; mount the CGI route before it/,
    );
  });

  it('forwards the raw body a parser kept', async () => {
    const app = createApp();
    app.use(
      express5.urlencoded({
        extended: false,
        verify: (req, _res, buf) => Object.assign(req, { rawBody: Buffer.from(buf) }),
      }),
    );
    app.use('/cgi-bin', cgi({ root: root.root, logger: false }));
    const origin = await serve(app);
    const reply = await request(`${origin}/cgi-bin/form.pl`, {
      method: 'POST',
      body: 'name=Ada+Lovelace',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(reply.text).toBe('name=Ada Lovelace\nmethod=POST\n');
  });

  it("follows the app's trust proxy setting only when asked, and takes the app's user", async () => {
    const app = createApp();
    app.set('trust proxy', 'loopback');
    app.use((req, _res, next) => {
      Object.assign(req, { user: req.get('x-test-user') });
      next();
    });
    const user = (req: express5.Request) => {
      const name = (req as { user?: string }).user;
      return name ? { name, authType: 'Bearer' } : undefined;
    };
    app.use('/trusting', cgi({ root: root.root, trustProxy: 'app', user, logger: false }));
    app.use('/plain', cgi({ root: root.root, logger: false }));
    const origin = await serve(app);
    const headers = {
      'X-Forwarded-For': '203.0.113.5',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'shop.example',
      'X-Test-User': 'ada',
      Authorization: 'Basic YWRhOnNlY3JldA==',
    };
    const trusting = json<Env>(await request(`${origin}/trusting/env.py`, { headers })).env;
    expect(trusting).toMatchObject({
      REMOTE_ADDR: '203.0.113.5',
      HTTPS: 'on',
      SERVER_NAME: 'shop.example',
      REMOTE_USER: 'ada',
      AUTH_TYPE: 'Bearer',
    });
    expect(trusting.HTTP_AUTHORIZATION).toBeUndefined();
    const plain = json<Env>(await request(`${origin}/plain/env.py`, { headers })).env;
    expect(plain.REMOTE_ADDR).toBe('127.0.0.1');
    expect(plain.HTTPS).toBeUndefined();
    expect(plain.REMOTE_USER).toBeUndefined();
  });

  it('hands errors to next(err) with status, expose, code and headers, and no stack frames', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const app = createApp();
    app.use('/cgi-bin', cgi({ root: root.root, maxConcurrent: 1, logger: false }));
    const capture: ErrorRequestHandler = (err, _req, res, _next) => {
      seen.push({ status: err.status, expose: err.expose, code: err.code, message: err.message, stack: err.stack });
      res.status(err.status).set(err.headers).send('custom');
    };
    app.use(capture);
    const origin = await serve(app);
    expect((await request(`${origin}/cgi-bin/bad-header.sh`)).text).toBe('custom');
    expect(seen[0]).toEqual({
      status: 502,
      expose: false,
      code: 'ERR_CGI_MALFORMED_HEADER',
      message: 'Bad Gateway',
      stack: 'CgiError: Bad Gateway',
    });
  });

  it('is not misled by a route that matched earlier and fell through', async () => {
    const app = createApp();
    app.all(route === '/report*' ? '/cgi-bin/*' : '/cgi-bin/{*rest}', (_req, _res, next) => next());
    app.use('/cgi-bin', cgi({ root: root.root, logger: false }));
    app.all(route, cgi({ script: join(root.root, 'redirect-local.sh'), logger: false }));
    const origin = await serve(app);
    expect((await request(`${origin}/cgi-bin/hello.sh`)).text).toBe('hello from sh\n');
    // A local redirect from a route-mounted gateway to the app.use-mounted one.
    expect(json<Env>(await request(`${origin}/report`)).env.SCRIPT_NAME).toBe('/cgi-bin/env.py');
  });

  it('re-enters the top app with nothing of the first request: a 404 if nothing answers, no body, no old query', async () => {
    const seen: string[] = [];
    const sub = createApp();
    sub.use('/cgi-bin', cgi({ root: root.root, logger: false }));
    const app = createApp();
    app.use(
      express5.urlencoded({
        extended: false,
        verify: (req, _res, buf) => Object.assign(req, { rawBody: Buffer.from(buf) }),
      }),
    );
    app.use('/legacy', sub);
    app.get('/modern/route', (req, res) => res.json({ body: req.body ?? null, query: req.query }));
    app.get('/legacy/cgi-bin/nowhere', (_req, res) => res.send('wrong: fell back into the first dispatch'));
    app.use((req, _res, next) => {
      seen.push(req.url);
      next();
    });
    const origin = await serve(app);
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const outside = await request(`${origin}/legacy/cgi-bin/redirect-outside.sh?orig=1`, {
      method: 'POST',
      body: 'password=hunter2',
      headers: form,
    });
    expect(json(outside)).toEqual({ body: null, query: { from: 'cgi' } });
    const nowhere = await request(`${origin}/legacy/cgi-bin/redirect-nowhere.sh`);
    expect(nowhere.status).toBe(404);
    expect(nowhere.text).not.toContain('wrong');
    expect(seen.filter((url) => url.includes('nowhere'))).toEqual(['/nowhere']);
  });

  it('logs what fails outside the gateway (a throwing user function) and answers 500', async () => {
    const logger = new MemoryLogger();
    const app = createApp();
    app.use(
      '/cgi-bin',
      cgi({
        root: root.root,
        logger,
        user: () => {
          throw new Error('auth lookup failed');
        },
      }),
    );
    const origin = await serve(app);
    expect((await request(`${origin}/cgi-bin/hello.sh`)).status).toBe(500);
    expect(logger.text()).toMatch(/internal error: Error: auth lookup failed/);
  });

  it('throws a TypeError naming a wrong adapter option', () => {
    expect(() => cgi({ root: root.root, user: 'ada' as never })).toThrow(/option "user" must be a function/);
    expect(() => cgi({ root: root.root, trustProxy: 'yes' as never })).toThrow(/option "trustProxy"/);
  });
});
