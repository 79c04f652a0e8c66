import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { json } from '../support/http.js';
import { securityGroup } from '../support/security.js';

type Env = { env: Record<string, string> };

securityGroup('security: environment (httpoxy, Shellshock, impersonation)', (ctx) => {
  const env = async (headers: Record<string, string>, origin?: string) =>
    json<Env>(await ctx.probe('/cgi-bin/env.py', { headers }, origin)).env;

  it.each(['Proxy', 'PROXY', 'proxy', 'pRoXy'])(
    'httpoxy (CVE-2016-5385): a "%s" header never becomes HTTP_PROXY',
    async (name) => {
      const seen = await env({ [name]: 'http://attacker.example:3128' });
      expect(seen.HTTP_PROXY).toBeUndefined();
      expect(Object.values(seen)).not.toContain('http://attacker.example:3128');
    },
  );

  it.each([
    ['X_Forwarded_For', 'HTTP_X_FORWARDED_FOR'],
    ['Content_Type', 'HTTP_CONTENT_TYPE'],
    ['Script_Name', 'HTTP_SCRIPT_NAME'],
    ['X-Forwarded_For', 'HTTP_X_FORWARDED_FOR'],
  ])('underscore impersonation: "%s" is dropped, %s stays unset', async (name, variable) => {
    const seen = await env({ [name]: 'forged' });
    expect(seen[variable]).toBeUndefined();
    expect(Object.values(seen)).not.toContain('forged');
  });

  it.each([
    ['Script-Filename', 'SCRIPT_FILENAME'],
    ['Remote-Addr', 'REMOTE_ADDR'],
    ['Path', 'PATH'],
    ['Ld-Preload', 'LD_PRELOAD'],
    ['Server-Name', 'SERVER_NAME'],
    ['Gateway-Interface', 'GATEWAY_INTERFACE'],
  ])('a "%s" header only ever reaches HTTP_*, never %s', async (header, variable) => {
    const seen = await env({ [header]: '/forged/value' });
    expect(seen[variable]).not.toBe('/forged/value');
    expect(seen[`HTTP_${variable}`]).toBe('/forged/value');
  });

  it.each([
    ['Authorization', 'HTTP_AUTHORIZATION'],
    ['Proxy-Authorization', 'HTTP_PROXY_AUTHORIZATION'],
  ])('%s is not passed by default (credentials stay with the server)', async (header, variable) => {
    const seen = await env({ [header]: 'Basic dXNlcjpwYXNz' });
    expect(seen[variable]).toBeUndefined();
    expect(seen.REMOTE_USER).toBeUndefined();
  });

  it.each([
    ['X-Forwarded-For', 'REMOTE_ADDR', '203.0.113.66', '127.0.0.1'],
    ['X-Forwarded-Proto', 'HTTPS', 'https', undefined],
    ['X-Forwarded-Host', 'SERVER_NAME', 'evil.example', '127.0.0.1'],
    ['Forwarded', 'REMOTE_ADDR', 'for=203.0.113.66;proto=https', '127.0.0.1'],
  ])('IP spoofing: %s from an untrusted peer does not set %s', async (header, variable, value, expected) => {
    const seen = await env({ [header]: value });
    expect(seen[variable]).toBe(expected);
  });

  it('IP spoofing: a trusted proxy is believed, the client-chosen hops before it are not', async () => {
    const server = await ctx.start({ trustProxy: ['127.0.0.1'] });
    const seen = await env({ 'X-Forwarded-For': '6.6.6.6, 198.51.100.9' }, server.origin);
    expect(seen.REMOTE_ADDR).toBe('198.51.100.9');
  });

  it('Shellshock (CVE-2014-6271): a function definition in a header is passed verbatim, never run', async () => {
    const marker = join(ctx.root.scratch, 'shellshock-ran');
    const payload = `() { :; }; /usr/bin/touch ${marker}`;
    const reply = await ctx.probe('/cgi-bin/bash-env.sh', { headers: { 'User-Agent': payload, Cookie: payload } });
    expect(reply.text).toBe(`UA=${payload}\n`);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['NUL', 'a\x00b'],
    ['bare CR', 'a\rb'],
    ['escape', 'a\x1bb'],
  ])('%s in a header value: 400, the server survives', async (_name, value) => {
    const reply = await ctx.raw(
      `GET /cgi-bin/env.py HTTP/1.1\r\nHost: x\r\nX-Bad: ${value}\r\nConnection: close\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("canary: a secret in the server's environment never reaches a script", async () => {
    const server = await ctx.start({});
    const reply = await ctx.probe('/cgi-bin/env.pl', {}, server.origin);
    expect(reply.status).toBe(200);
    expect(reply.text).not.toContain('CGIBRIDGE_CANARY');
  });
});
