import { HttpProxyAgent } from 'http-proxy-agent';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startForwardProxy } from '../support/forward-proxy.js';
import { json, request } from '../support/http.js';
import { conformance } from '../support/suite.js';

type Env = { env: Record<string, string> };
let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
beforeAll(async () => {
  proxy = await startForwardProxy();
});
afterAll(() => proxy.close());

conformance('behind a forwarding proxy (http-proxy-agent)', (ctx) => {
  const viaProxy = (origin: string, path: string, headers: Record<string, string> = {}) =>
    request(`${origin}${path}`, { agent: new HttpProxyAgent(proxy.url), headers });

  it('sees the proxy as REMOTE_ADDR and ignores its X-Forwarded-For unless it is trusted', async () => {
    const { env } = json<Env>(await viaProxy(ctx.server.origin, '/cgi-bin/env.py'));
    expect(env.REMOTE_ADDR).toBe('127.0.0.2');
    expect(env.HTTP_X_FORWARDED_FOR).toBe('127.0.0.1');
  });

  it('believes a trusted proxy, but not what the client put in front of it', async () => {
    const server = await ctx.start({ trustProxy: ['127.0.0.2'] });
    const { env } = json<Env>(await viaProxy(server.origin, '/cgi-bin/env.py', { 'X-Forwarded-For': '6.6.6.6' }));
    expect(env.REMOTE_ADDR).toBe('127.0.0.1');
    expect(env.HTTP_X_FORWARDED_FOR).toBe('6.6.6.6, 127.0.0.1');
  });

  it('never turns a Proxy header into HTTP_PROXY (httpoxy), through a proxy or not', async () => {
    const { env } = json<Env>(
      await viaProxy(ctx.server.origin, '/cgi-bin/env.py', { Proxy: 'http://attacker.example' }),
    );
    expect(env.HTTP_PROXY).toBeUndefined();
    expect(Object.values(env)).not.toContain('http://attacker.example');
  });
});
