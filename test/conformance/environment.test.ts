import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { json, rawRequest, request } from '../support/http.js';
import { conformance } from '../support/suite.js';

interface Dump {
  env: Record<string, string>;
  argv: string[];
  cwd: string;
}

/** Parses env.pl's KEY=VALUE lines. */
function perlEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

conformance('environment (RFC 3875 §4.1)', (ctx) => {
  it('sets the CGI meta-variables from the request', async () => {
    const reply = await request(ctx.url('/cgi-bin/env.py/a%20b/%C3%BC?x=%20y&z'), {
      headers: { Host: 'Example.test:8080' },
    });
    expect(reply.status).toBe(200);
    const { env, cwd } = json<Dump>(reply);
    const real = realpathSync(ctx.root.root);
    expect(env).toMatchObject({
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/cgi-bin/env.py',
      PATH_INFO: '/a b/ü',
      QUERY_STRING: 'x=%20y&z',
      REQUEST_URI: '/cgi-bin/env.py/a%20b/%C3%BC?x=%20y&z',
      SERVER_NAME: 'example.test',
      SERVER_PORT: String(ctx.server.port),
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_ADDR: '127.0.0.1',
      REMOTE_ADDR: '127.0.0.1',
      REQUEST_SCHEME: 'http',
      SCRIPT_FILENAME: join(real, 'env.py'),
      DOCUMENT_ROOT: ctx.root.root,
      // RFC 3875 §4.1.9: no lookup is done, so REMOTE_HOST is the address.
      REMOTE_HOST: '127.0.0.1',
      // §4.1.6: PATH_INFO mapped into the document root (by default the script root).
      PATH_TRANSLATED: `${ctx.root.root}/a b/ü`,
    });
    expect(env.SERVER_SOFTWARE).toMatch(/^cgibridge\//);
    expect(Number(env.REMOTE_PORT)).toBeGreaterThan(0);
    expect(env.HTTPS).toBeUndefined();
    expect(cwd).toBe(real);
  });

  it('leaves PATH_INFO, CONTENT_LENGTH and CONTENT_TYPE unset when there is nothing to say', async () => {
    const { env } = json<Dump>(await request(ctx.url('/cgi-bin/env.py')));
    expect(env.PATH_INFO).toBeUndefined();
    expect(env.CONTENT_LENGTH).toBeUndefined();
    expect(env.CONTENT_TYPE).toBeUndefined();
    expect(env.QUERY_STRING).toBe('');
  });

  it('leaves CONTENT_LENGTH and CONTENT_TYPE unset for an empty body (§4.1.2)', async () => {
    const { env } = json<Dump>(
      await request(ctx.url('/cgi-bin/env.py'), {
        method: 'POST',
        body: '',
        headers: { 'Content-Type': 'text/plain' },
      }),
    );
    expect(env.CONTENT_LENGTH).toBeUndefined();
    expect(env.CONTENT_TYPE).toBeUndefined();
  });

  it('maps request headers to HTTP_* and joins repeated ones', async () => {
    const { env } = json<Dump>(
      await request(ctx.url('/cgi-bin/env.py'), {
        headers: {
          'X-Custom-Header': 'value 1',
          Accept: ['text/html', 'application/json'],
          Cookie: ['a=1', 'b=2'],
        },
      }),
    );
    expect(env.HTTP_X_CUSTOM_HEADER).toBe('value 1');
    expect(env.HTTP_ACCEPT).toBe('text/html, application/json');
    expect(env.HTTP_COOKIE).toBe('a=1; b=2');
  });

  it('drops Proxy (httpoxy), underscore names, hop-by-hop and body headers, and Authorization', async () => {
    const { env } = json<Dump>(
      await request(ctx.url('/cgi-bin/env.py'), {
        method: 'POST',
        body: 'x=1',
        headers: {
          Proxy: 'http://attacker.example:8080',
          'Proxy-Authorization': 'Basic c2VjcmV0',
          X_Forwarded_For: '6.6.6.6',
          Connection: 'keep-alive, X-Nominated',
          'X-Nominated': 'hop',
          TE: 'trailers',
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: 'Basic dXNlcjpwYXNz',
        },
      }),
    );
    expect(env.HTTP_PROXY).toBeUndefined();
    expect(env.HTTP_PROXY_AUTHORIZATION).toBeUndefined();
    expect(env.HTTP_X_FORWARDED_FOR).toBeUndefined();
    expect(env.HTTP_CONNECTION).toBeUndefined();
    expect(env.HTTP_X_NOMINATED).toBeUndefined();
    expect(env.HTTP_TE).toBeUndefined();
    expect(env.HTTP_CONTENT_TYPE).toBeUndefined();
    expect(env.HTTP_CONTENT_LENGTH).toBeUndefined();
    expect(env.HTTP_AUTHORIZATION).toBeUndefined();
    expect(env.REMOTE_USER).toBeUndefined();
    expect(env.AUTH_TYPE).toBeUndefined();
    expect(env.CONTENT_TYPE).toBe('application/x-www-form-urlencoded');
    expect(env.CONTENT_LENGTH).toBe('3');
  });

  it('passes Authorization only with passAuthorization, and never parses it into REMOTE_USER', async () => {
    const server = await ctx.start({ passAuthorization: true });
    const { env } = json<Dump>(
      await request(`${server.origin}/cgi-bin/env.py`, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }),
    );
    expect(env.HTTP_AUTHORIZATION).toBe('Basic dXNlcjpwYXNz');
    expect(env.REMOTE_USER).toBeUndefined();
  });

  it("does not inherit the server's environment beyond the allow-list", async () => {
    process.env.CGIBRIDGE_CANARY_SECRET = 'canary-4f1e';
    try {
      const server = await ctx.start({});
      const env = perlEnv((await request(`${server.origin}/cgi-bin/env.pl`)).text);
      expect(Object.values(env)).not.toContain('canary-4f1e');
      const allowed = new Set(['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR']);
      const leaked = Object.keys(env).filter(
        (name) =>
          !allowed.has(name) &&
          !name.startsWith('HTTP_') &&
          !/^(GATEWAY_INTERFACE|SERVER_\w+|REQUEST_\w+|QUERY_STRING|SCRIPT_\w+|PATH_INFO|REMOTE_\w+|DOCUMENT_ROOT)$/.test(
            name,
          ),
      );
      expect(leaked).toEqual([]);
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.CGIBRIDGE_CANARY_SECRET;
    }
  });

  it('adds the operator env, static or computed per request, and inheritEnv names', async () => {
    process.env.CGIBRIDGE_INHERITED = 'inherited-value';
    try {
      const server = await ctx.start({
        inheritEnv: ['CGIBRIDGE_INHERITED'],
        env: (req) => ({ APP_MODE: 'legacy', SEEN_METHOD: req.method, LANG: undefined }),
      });
      const env = perlEnv((await request(`${server.origin}/cgi-bin/env.pl`, { method: 'DELETE' })).text);
      expect(env.CGIBRIDGE_INHERITED).toBe('inherited-value');
      expect(env.APP_MODE).toBe('legacy');
      expect(env.SEEN_METHOD).toBe('DELETE');
      expect(env.LANG).toBeUndefined();
      const fixed = await ctx.start({ env: { APP_MODE: 'static' } });
      expect(perlEnv((await request(`${fixed.origin}/cgi-bin/env.pl`)).text).APP_MODE).toBe('static');
    } finally {
      delete process.env.CGIBRIDGE_INHERITED;
    }
  });

  it('ignores X-Forwarded-* unless the peer is a trusted proxy', async () => {
    const headers = {
      'X-Forwarded-For': '203.0.113.9, 198.51.100.7',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'public.example',
    };
    const untrusted = json<Dump>(await request(ctx.url('/cgi-bin/env.py'), { headers })).env;
    expect(untrusted.REMOTE_ADDR).toBe('127.0.0.1');
    expect(untrusted.HTTPS).toBeUndefined();
    expect(untrusted.SERVER_NAME).toBe('127.0.0.1');
    expect(untrusted.HTTP_X_FORWARDED_FOR).toBe('203.0.113.9, 198.51.100.7');

    const server = await ctx.start({ trustProxy: ['127.0.0.1'] });
    const trusted = json<Dump>(await request(`${server.origin}/cgi-bin/env.py`, { headers })).env;
    // The rightmost untrusted hop: a client cannot pick its own address by prepending one.
    expect(trusted.REMOTE_ADDR).toBe('198.51.100.7');
    expect(trusted.HTTPS).toBe('on');
    expect(trusted.REQUEST_SCHEME).toBe('https');
    expect(trusted.SERVER_NAME).toBe('public.example');

    const chain = await ctx.start({ trustProxy: ['127.0.0.0/8', '198.51.100.0/24'] });
    const walked = json<Dump>(await request(`${chain.origin}/cgi-bin/env.py`, { headers })).env;
    expect(walked.REMOTE_ADDR).toBe('203.0.113.9');
  });

  it('reads Forwarded (RFC 7239) from a trusted proxy: quoted IPv6, ports, obfuscated hops', async () => {
    const server = await ctx.start({ trustProxy: ['127.0.0.1'], forwardedHeaders: 'forwarded' });
    const env = async (forwarded: string) =>
      json<Dump>(await request(`${server.origin}/cgi-bin/env.py`, { headers: { Forwarded: forwarded } })).env;
    expect(await env('for=198.51.100.17;proto=https;host=shop.example')).toMatchObject({
      REMOTE_ADDR: '198.51.100.17',
      HTTPS: 'on',
      SERVER_NAME: 'shop.example',
    });
    expect((await env('for="[2001:db8:cafe::17]:4711"')).REMOTE_ADDR).toBe('2001:db8:cafe::17');
    expect((await env('for=6.6.6.6, for=192.0.2.43:8080;proto=http')).REMOTE_ADDR).toBe('192.0.2.43');
    // An obfuscated or unknown hop says nothing about the client: the walk stops there.
    expect((await env('for=_hidden')).REMOTE_ADDR).toBe('127.0.0.1');
    expect((await env('for=unknown')).REMOTE_ADDR).toBe('127.0.0.1');
    const untrusted = json<Dump>(
      await request(ctx.url('/cgi-bin/env.py'), { headers: { Forwarded: 'for=198.51.100.17;proto=https' } }),
    ).env;
    expect(untrusted.REMOTE_ADDR).toBe('127.0.0.1');
    expect(untrusted.HTTPS).toBeUndefined();
  });

  it('believes only the header family the proxy writes: a client-sent Forwarded passes through X-Forwarded-* proxies', async () => {
    const server = await ctx.start({ trustProxy: ['127.0.0.1'] });
    const { env } = json<Dump>(
      await request(`${server.origin}/cgi-bin/env.py`, {
        headers: { Forwarded: 'for=6.6.6.6;proto=https;host=evil.example', 'X-Forwarded-For': '203.0.113.5' },
      }),
    );
    expect(env).toMatchObject({
      REMOTE_ADDR: '203.0.113.5',
      SERVER_NAME: '127.0.0.1',
      HTTP_FORWARDED: expect.any(String),
    });
    expect(env.HTTPS).toBeUndefined();
    const rfc = await ctx.start({ trustProxy: ['127.0.0.1'], forwardedHeaders: 'forwarded' });
    const other = json<Dump>(
      await request(`${rfc.origin}/cgi-bin/env.py`, {
        headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https' },
      }),
    ).env;
    expect(other.REMOTE_ADDR).toBe('127.0.0.1');
    expect(other.HTTPS).toBeUndefined();
  });

  it('never takes a non-address X-Forwarded-For hop as REMOTE_ADDR', async () => {
    const server = await ctx.start({ trustProxy: ['127.0.0.1'] });
    const { env } = json<Dump>(
      await request(`${server.origin}/cgi-bin/env.py`, { headers: { 'X-Forwarded-For': 'not-an-ip' } }),
    );
    expect(env.REMOTE_ADDR).toBe('127.0.0.1');
  });

  it('answers 400 to an invalid Host header, and uses the local address without one', async () => {
    const bad = await rawRequest(
      ctx.server.port,
      'GET /cgi-bin/env.py HTTP/1.1\r\nHost: bad host!\r\nConnection: close\r\n\r\n',
    );
    expect(bad).toMatch(/^HTTP\/1\.1 400 /);
    const none = await rawRequest(ctx.server.port, 'GET /cgi-bin/env.py HTTP/1.0\r\n\r\n');
    expect(none).toMatch(/^HTTP\/1\.1 200 /);
    const env = JSON.parse(none.slice(none.indexOf('\r\n\r\n') + 4)).env as Record<string, string>;
    expect(env.SERVER_NAME).toBe('127.0.0.1');
    expect(env.SERVER_PROTOCOL).toBe('HTTP/1.0');
  });

  it('runs nested scripts in their own directory with the mount in SCRIPT_NAME', async () => {
    const reply = await request(ctx.url('/cgi-bin/sub/deep.pl/more/info'));
    expect(reply.text).toBe(`deep ${realpathSync(join(ctx.root.root, 'sub'))} /more/info\n`);
  });

  it('serves at the site root when mountPath is empty', async () => {
    const server = await ctx.start({ mountPath: '' });
    const { env } = json<Dump>(await request(`${server.origin}/env.py/x`));
    expect(env.SCRIPT_NAME).toBe('/env.py');
    expect(env.PATH_INFO).toBe('/x');
  });

  it('maps PATH_TRANSLATED into a configured document root', async () => {
    const server = await ctx.start({ documentRoot: ctx.root.outside });
    const { env } = json<Dump>(await request(`${server.origin}/cgi-bin/env.py/docs/page.html`));
    expect(env.PATH_TRANSLATED).toBe(`${ctx.root.outside}/docs/page.html`);
    expect(env.DOCUMENT_ROOT).toBe(ctx.root.outside);
  });

  it('sends every URL below the mount to a front-controller script', async () => {
    const server = await ctx.start({ root: undefined, script: join(ctx.root.root, 'env.py'), mountPath: '/app' });
    const deep = json<Dump>(await request(`${server.origin}/app/users/42/edit?tab=1`)).env;
    expect(deep.SCRIPT_NAME).toBe('/app');
    expect(deep.PATH_INFO).toBe('/users/42/edit');
    expect(deep.QUERY_STRING).toBe('tab=1');
    expect(deep.REQUEST_URI).toBe('/app/users/42/edit?tab=1');
    const top = json<Dump>(await request(`${server.origin}/app`)).env;
    expect(top.PATH_INFO).toBeUndefined();
    const outside = await request(`${server.origin}/other`);
    expect(outside.text).toBe('app 404\n');
  });

  it('never turns the query into argv unless commandArgs is on, and then only safely', async () => {
    expect(json<Dump>(await request(ctx.url('/cgi-bin/env.py?-h+--version'))).argv).toEqual([]);
    const server = await ctx.start({ commandArgs: true });
    const args = (path: string) => request(`${server.origin}/cgi-bin/args.sh${path}`);
    expect((await args('?alpha+b%20c+%3Bls')).text).toBe('[alpha]\n[b c]\n[;ls]\n');
    expect((await args('?a=b')).text).toBe('');
    expect((await args('?-d+allow_url_include%3d1')).status).toBe(400);
    expect((await args('?x+%2Dn')).status).toBe(400);
    // Soft hyphen (CVE-2024-4577): not ASCII, refused.
    expect((await args('?%C2%ADd')).status).toBe(400);
    expect((await args('?%AD')).status).toBe(400);
    expect((await request(`${server.origin}/cgi-bin/args.sh?a+b`, { method: 'POST', body: '' })).text).toBe('');
  });
});
