import { Transform } from 'node:stream';
import { cgi } from '@cgibridge/koa';
import Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';
import Koa2 from 'koa2';
import { describe, expect, it } from 'vitest';
import { useAppServers } from '../support/app-server.js';
import { json, request } from '../support/http.js';
import { MemoryLogger } from '../support/servers.js';

type Env = { env: Record<string, string> };
const servers = useAppServers();
function serve(app: Koa): Promise<string> {
  app.silent = true;
  return servers.serve(app.callback());
}
const root = {
  get root() {
    return servers.root().root;
  },
};

describe.each([
  ['koa 3', Koa],
  ['koa 2', Koa2 as unknown as typeof Koa],
] as const)('@cgibridge/koa with %s', (_name, App) => {
  it('works under koa-mount, with the mount in SCRIPT_NAME', async () => {
    const app = new App();
    app.use(mount('/legacy', cgi({ root: root.root, logger: false })));
    const origin = await serve(app);
    const { env } = json<Env>(await request(`${origin}/legacy/env.py/x?y=1`));
    expect(env).toMatchObject({ SCRIPT_NAME: '/legacy/env.py', PATH_INFO: '/x', REQUEST_URI: '/legacy/env.py/x?y=1' });
  });

  it('works as a @koa/router route handler', async () => {
    const app = new App();
    const router = new Router();
    router.all('/report{/*rest}', cgi({ script: `${root.root}/env.py`, logger: false }));
    router.get('/modern', (ctx) => {
      ctx.body = { modern: true };
    });
    app.use(router.routes());
    const origin = await serve(app);
    const { env } = json<Env>(await request(`${origin}/report/2024/q1`));
    expect(env).toMatchObject({ SCRIPT_NAME: '/report', PATH_INFO: '/2024/q1' });
    expect(json(await request(`${origin}/modern`))).toEqual({ modern: true });
  });

  it('is not misled by a koa-mount or a router route that matched earlier and fell through', async () => {
    const app = new App();
    const router = new Router();
    router.all('/cgi-bin/{*rest}', async (_ctx, next) => next());
    app.use(router.routes());
    app.use(mount('/cgi-bin', async (_ctx, next) => next()));
    app.use(cgi({ root: root.root, mountPath: '/cgi-bin', logger: false }));
    app.use(cgi({ root: `${root.root}/sub`, logger: false }));
    const origin = await serve(app);
    const { env } = json<Env>(await request(`${origin}/cgi-bin/env.py/x`));
    expect(env.SCRIPT_NAME).toBe('/cgi-bin/env.py');
    expect((await request(`${origin}/deep.pl`)).text).toMatch(/^deep /);
  });

  it('gives the script a kept raw body with a CONTENT_LENGTH that matches its bytes', async () => {
    const app = new App();
    app.use(async (ctx, next) => {
      for await (const _chunk of ctx.req);
      (ctx.request as { rawBody?: Buffer }).rawBody = Buffer.from('name=Jürgen');
      await next();
    });
    app.use(cgi({ root: root.root, mountPath: '/cgi-bin', logger: false }));
    const origin = await serve(app);
    const reply = await request(`${origin}/cgi-bin/form.pl`, { method: 'POST', body: 'name=x' });
    expect(reply.text).toBe('name=Jürgen\nmethod=POST\n');
  });

  it('never re-encodes a kept raw body: a string whose UTF-8 length is not Content-Length is refused', async () => {
    const logger = new MemoryLogger();
    const app = new App();
    app.use(async (ctx, next) => {
      // A parser that decoded latin1 bytes into a string: "J\xfcrgen" re-encoded would be 8 bytes, not 7.
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      (ctx.request as { rawBody?: string }).rawBody = Buffer.concat(chunks).toString('latin1');
      await next();
    });
    app.use(cgi({ root: root.root, mountPath: '/cgi-bin', logger }));
    const origin = await serve(app);
    const reply = await request(`${origin}/cgi-bin/form.pl`, {
      method: 'POST',
      body: Buffer.from('n=J\xfcrgen', 'latin1'),
    });
    expect(reply.status).toBe(500);
    expect(logger.text()).toMatch(/no copy of its exact bytes was kept/);
    expect((await request(`${origin}/cgi-bin/form.pl`, { method: 'POST', body: 'name=Grace' })).text).toBe(
      'name=Grace\nmethod=POST\n',
    );
  });

  it('logs what fails outside the gateway (a throwing user function) and answers 500', async () => {
    const logger = new MemoryLogger();
    const app = new App();
    app.use(
      cgi({
        root: root.root,
        mountPath: '/cgi-bin',
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

  it('writes through Koa, so upstream middleware still shapes the response', async () => {
    const app = new App();
    app.use(async (ctx, next) => {
      await next();
      ctx.set('X-Upstream', 'seen');
      // What a compression middleware does: replace the body with a transformed stream.
      if (ctx.body && typeof (ctx.body as NodeJS.ReadableStream).pipe === 'function') {
        const upper = new Transform({
          transform: (chunk: Buffer, _encoding, done) => done(null, chunk.toString().toUpperCase()),
        });
        ctx.body = (ctx.body as NodeJS.ReadableStream).pipe(upper);
        ctx.remove('Content-Length');
      }
    });
    app.use(cgi({ root: root.root, mountPath: '/cgi-bin', logger: false }));
    const origin = await serve(app);
    const reply = await request(`${origin}/cgi-bin/hello.sh`);
    expect(reply.headers['x-upstream']).toBe('seen');
    expect(reply.text).toBe('HELLO FROM SH\n');
    expect(reply.headers['content-type']).toBe('text/plain');
  });

  it('refuses a body another middleware consumed, and forwards a kept raw body', async () => {
    const logger = new MemoryLogger();
    const app = new App();
    app.use(async (ctx, next) => {
      // What koa-bodyparser does: read the stream, keep the text when asked.
      let text = '';
      for await (const chunk of ctx.req) text += chunk;
      if (ctx.get('x-keep-raw')) (ctx.request as { rawBody?: string }).rawBody = text;
      await next();
    });
    app.use(cgi({ root: root.root, mountPath: '/cgi-bin', logger }));
    const origin = await serve(app);
    const post = (keep: boolean) =>
      request(`${origin}/cgi-bin/form.pl`, {
        method: 'POST',
        body: 'name=Grace',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(keep ? { 'X-Keep-Raw': '1' } : {}) },
      });
    expect((await post(false)).status).toBe(500);
    expect(logger.text()).toMatch(/mount the CGI route before it, or keep the raw body/);
    expect((await post(true)).text).toBe('name=Grace\nmethod=POST\n');
  });

  it("follows app.proxy only when asked, and takes the app's user", async () => {
    const app = new App();
    app.proxy = true;
    app.use(async (ctx, next) => {
      ctx.state.user = ctx.get('x-test-user');
      await next();
    });
    const user = (ctx: Koa.Context) => (ctx.state.user ? { name: ctx.state.user as string } : undefined);
    app.use(mount('/trusting', cgi({ root: root.root, trustProxy: 'app', user, logger: false })));
    app.use(mount('/plain', cgi({ root: root.root, logger: false })));
    const origin = await serve(app);
    const headers = { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Test-User': 'grace' };
    const trusting = json<Env>(await request(`${origin}/trusting/env.py`, { headers })).env;
    expect(trusting).toMatchObject({ REMOTE_ADDR: '203.0.113.7', HTTPS: 'on', REMOTE_USER: 'grace' });
    const plain = json<Env>(await request(`${origin}/plain/env.py`, { headers })).env;
    expect(plain.REMOTE_ADDR).toBe('127.0.0.1');
    expect(plain.REMOTE_USER).toBeUndefined();
  });

  it('throws errors with status, expose, code and headers for Koa to answer', async () => {
    const seen: unknown[] = [];
    const app = new App();
    app.use(async (_ctx, next) => {
      try {
        await next();
      } catch (error) {
        seen.push(error);
        throw error;
      }
    });
    app.use(cgi({ root: root.root, mountPath: '/cgi-bin', logger: false }));
    const origin = await serve(app);
    const reply = await request(`${origin}/cgi-bin/bad-header.sh`);
    expect(reply.status).toBe(502);
    expect(reply.text).toBe('Bad Gateway');
    expect(seen[0]).toMatchObject({ status: 502, expose: false, code: 'ERR_CGI_MALFORMED_HEADER' });
  });
});
