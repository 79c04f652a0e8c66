import { request as httpRequest } from 'node:http';
import { expect, it } from 'vitest';
import { securityGroup } from '../support/security.js';

const responses = (wire: string) => wire.match(/HTTP\/1\.1 \d{3} /g) ?? [];

securityGroup('security: request framing (smuggling, oversize, slow uploads)', (ctx) => {
  it.each([
    [
      'CL.TE smuggling: Content-Length with Transfer-Encoding',
      'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['CL.CL smuggling: two different Content-Lengths', 'Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde'],
    ['malformed Content-Length', 'Content-Length: abc\r\n\r\n'],
    ['negative Content-Length', 'Content-Length: -1\r\n\r\n'],
    ['signed Content-Length', 'Content-Length: +4\r\n\r\nabcd'],
    ['invalid chunk size', 'Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
    ['TE.TE obfuscation: unknown coding', 'Transfer-Encoding: xchunked\r\n\r\n'],
  ])('%s: rejected with 400 before any script runs', async (_incident, rest) => {
    const before = ctx.spawned();
    const reply = await ctx.raw(`POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\n${rest}`);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(responses(reply)).toHaveLength(1);
    expect(ctx.spawned()).toBe(before);
  });

  it('keep-alive smuggling through a script that ignores its body: the body is never parsed as a request', async () => {
    const smuggled = 'GET /cgi-bin/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n';
    const reply = await ctx.raw(
      `POST /cgi-bin/ignore-body.sh HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
        'GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(responses(reply)).toEqual(['HTTP/1.1 200 ', 'HTTP/1.1 200 ']);
    expect(reply).toContain('ignored your body');
    expect(reply).toContain('hello from sh');
  });

  it('chunked trailers never reach the script', async () => {
    const reply = await ctx.raw(
      'POST /cgi-bin/echo.py HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
        '4\r\nbody\r\n0\r\nX-Injected: trailer-value\r\n\r\n',
    );
    expect(reply).toMatch(/x-content-length-env: 4/i);
    expect(reply).not.toContain('trailer-value');
  });

  it('oversize Content-Length: 413 before spawning', async () => {
    const server = await ctx.start({ maxRequestBody: 64 });
    const before = server.events.length;
    const reply = await ctx.raw(
      `POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n${'x'.repeat(65)}`,
      server.port,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(server.events.slice(before).some((e) => e.type === 'spawn')).toBe(false);
  });

  it('oversize chunked body: 413, never buffered past the limit', async () => {
    const server = await ctx.start({ maxRequestBody: 64 });
    const chunk = `80\r\n${'x'.repeat(128)}\r\n`;
    const reply = await ctx.raw(
      `POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}0\r\n\r\n`,
      server.port,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('slow upload (slowloris on the body): cut off at the timeout, the slot freed', async () => {
    const server = await ctx.start({ timeout: 300, maxConcurrent: 1 });
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${server.origin}/cgi-bin/count.sh`, {
        method: 'POST',
        headers: { 'Transfer-Encoding': 'chunked' },
      });
      req.on('response', (res) => resolve(String(res.statusCode)));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      req.write('first bytes, then nothing');
    });
    // 408 where the framework answers at once; a closed connection where it waits for the body.
    expect(['408', 'ECONNRESET', 'socket hang up']).toContain(outcome);
    expect(server.running()).toBe(0);
    expect((await ctx.probe('/cgi-bin/hello.sh', {}, server.origin)).status).toBe(200);
  });

  it('absolute-form request target (RFC 9112 §3.2.2) is served like origin-form', async () => {
    const reply = await ctx.raw(
      `GET http://127.0.0.1:${ctx.server.port}/cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply).toContain('hello from sh');
  });
});
