import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpProxyAgent } from 'http-proxy-agent';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startForwardProxy } from '../support/forward-proxy.js';
import { json, rawRequest, request } from '../support/http.js';
import { securityGroup } from '../support/security.js';
import { eventually } from '../support/suite.js';

type Env = { env: Record<string, string> };
let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
beforeAll(async () => {
  proxy = await startForwardProxy();
});
afterAll(() => proxy.close());

/** The JSON body of a raw HTTP/1.0 reply (close-delimited, never chunked). */
function rawJson(reply: string): Env {
  return JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as Env;
}

securityGroup('security: trust boundaries', (ctx) => {
  it('a percent-encoded path never runs past a guard the app mounted on its plain spelling: 308 to it', async () => {
    const server = await ctx.start({}, { guard: '/cgi-bin/admin' });
    expect((await ctx.probe('/cgi-bin/admin/secret.sh', {}, server.origin)).status).toBe(401);
    for (const [sneaky, canonical] of [
      ['/cgi-bin/%61dmin/secret.sh', '/cgi-bin/admin/secret.sh'],
      ['/cgi-bin/%61%64%6D%69%6E/secret.sh?x=1', '/cgi-bin/admin/secret.sh?x=1'],
      ['/cgi-bin/hello%2esh', '/cgi-bin/hello.sh'],
    ] as const) {
      const reply = await ctx.probe(sneaky, {}, server.origin);
      // A router matching the decoded path runs the app's guard itself (see HostQuirks).
      const guarded = ctx.adapter.quirks?.routesDecodedPath && canonical.startsWith('/cgi-bin/admin/');
      expect(reply.status, sneaky).toBe(guarded ? 401 : 308);
      if (!guarded) expect(reply.headers.location).toBe(canonical);
      expect(reply.text).not.toContain('admin secret');
    }
    // Other escapes are the path's own spelling and still run.
    expect((await ctx.probe('/cgi-bin/with%20space.sh', {}, server.origin)).status).toBe(200);
  });

  it('believes only the header family the proxy writes: a client Forwarded through an X-Forwarded-* proxy', async () => {
    const server = await ctx.start({ trustProxy: ['127.0.0.2'] });
    const agent = new HttpProxyAgent(proxy.url);
    const { env } = json<Env>(
      await request(`${server.origin}/cgi-bin/env.py`, {
        agent,
        headers: { Forwarded: 'for=6.6.6.6;proto=https;host=evil.example' },
      }),
    );
    expect(env.REMOTE_ADDR).toBe('127.0.0.1');
    expect(env.HTTPS).toBeUndefined();
    expect(env.SERVER_NAME).toBe('127.0.0.1');
    expect(env.HTTP_FORWARDED).toBe('for=6.6.6.6;proto=https;host=evil.example');
  });

  it('a directory swapped for a symlink out of the root while the body uploads: the outside script never runs', async () => {
    const inside = join(ctx.root.root, 'swap');
    const outside = join(ctx.root.outside, 'swap');
    mkdirSync(inside, { recursive: true });
    mkdirSync(outside, { recursive: true });
    const script = '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%s\\n" "$0"\n';
    writeFileSync(join(inside, 'run.sh'), script.replace('"$0"', 'inside'), { mode: 0o755 });
    writeFileSync(join(outside, 'run.sh'), script.replace('"$0"', 'OUTSIDE-SCRIPT-RAN'), { mode: 0o755 });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slow() {
      yield Buffer.from('first ');
      await gate;
      yield Buffer.from('last');
    }
    const server = await ctx.start({});
    const pending = ctx.probe('/cgi-bin/swap/run.sh', { method: 'POST', body: slow(), chunked: true }, server.origin);
    try {
      await eventually(() => server.running() === 1, 5000, 'the upload to take its slot');
      renameSync(inside, `${inside}-old`);
      symlinkSync(outside, inside);
      release();
      const reply = await pending;
      expect(reply.status).toBe(404);
      expect(reply.text).not.toContain('OUTSIDE-SCRIPT-RAN');
      expect(server.logger.text()).toMatch(/swap\/run\.sh: refused: its real path changed while the request was read/);
    } finally {
      release();
      rmSync(inside, { recursive: true, force: true });
      rmSync(`${inside}-old`, { recursive: true, force: true });
    }
  });

  it('refusals never tell the client why: no oracle for what exists on disk', async () => {
    const refused = await ctx.probe('/cgi-bin/link-out.sh');
    const hidden = await ctx.probe('/cgi-bin/.env');
    for (const reply of [refused, hidden]) {
      expect(reply.status).toBe(404);
      expect(reply.text).not.toMatch(/refused|real path|script root|leaves|segment/);
    }
    expect(refused.text).toBe(hidden.text);
    expect(ctx.server.logger.text()).toMatch(/link-out\.sh: refused, its real path leaves the script root/);
  });

  it('header bytes reach the script as sent when UTF-8; other non-ASCII bytes are refused', async () => {
    const { env } = json<Env>(
      await ctx.probe('/cgi-bin/env.py', { headers: { 'X-Name': Buffer.from('Jürgen ✓').toString('latin1') } }),
    );
    expect(env.HTTP_X_NAME).toBe('Jürgen ✓');
    const bad = await ctx.probe('/cgi-bin/env.py', { headers: { 'X-A': '\xff\xfe' } });
    expect(bad.status).toBe(400);
    // A header that never becomes a variable is not the script's business.
    expect((await ctx.probe('/cgi-bin/hello.sh', { headers: { X_Odd: '\xff' } })).status).toBe(200);
  });

  it('absolute-form targets take the host from the target, not from Host (RFC 9112 §3.2.2)', async () => {
    const reply = await rawRequest(
      ctx.server.port,
      'GET http://evil.example/cgi-bin/env.py HTTP/1.0\r\nHost: good.example\r\n\r\n',
    );
    const { env } = rawJson(reply);
    expect(env.SERVER_NAME).toBe('evil.example');
    expect(env.HTTP_HOST).toBe('evil.example');
    expect(env.REQUEST_URI).toBe('http://evil.example/cgi-bin/env.py');
  });

  it("pins SERVER_NAME and SERVER_PORT and answers other hosts 400 (Apache's UseCanonicalName)", async () => {
    const server = await ctx.start({
      serverName: 'www.example.com',
      serverPort: 443,
      allowedHosts: ['www.example.com', 'localhost'],
    });
    const as = (host: string) => ctx.probe('/cgi-bin/env.py', { headers: { Host: host } }, server.origin);
    expect((await as('evil.example')).status).toBe(400);
    for (const host of ['www.example.com', 'LOCALHOST:8080']) {
      const { env } = json<Env>(await as(host));
      expect(env).toMatchObject({ SERVER_NAME: 'www.example.com', SERVER_PORT: '443' });
    }
  });
});
