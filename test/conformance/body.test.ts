import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { rawRequest, request } from '../support/http.js';
import { conformance } from '../support/suite.js';

async function* chunks(total: number, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += size) yield Buffer.alloc(Math.min(size, total - sent), 0x61);
}

conformance('request bodies and streaming (SPEC §2, §3, §4)', (ctx) => {
  it('gives a form script its urlencoded body with CONTENT_LENGTH', async () => {
    const reply = await request(ctx.url('/cgi-bin/form.pl'), {
      method: 'POST',
      body: 'name=J%C3%BCrgen+Smith&x=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(reply.text).toBe('name=Jürgen Smith\nmethod=POST\n');
  });

  it('passes binary bodies through unchanged', async () => {
    const body = randomBytes(1024 * 1024 + 7);
    const reply = await request(ctx.url('/cgi-bin/echo.py'), {
      method: 'PUT',
      body,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(reply.headers['x-content-length-env']).toBe(String(body.length));
    expect(reply.headers['x-content-type-env']).toBe('application/octet-stream');
    expect(reply.body.equals(body)).toBe(true);
  });

  it('buffers a chunked body by default so CONTENT_LENGTH is its decoded length', async () => {
    const reply = await request(ctx.url('/cgi-bin/echo.py'), { method: 'POST', body: chunks(300_000) });
    expect(reply.headers['x-content-length-env']).toBe('300000');
    expect(reply.body.length).toBe(300_000);
  });

  it('ignores chunked trailers', async () => {
    const reply = await rawRequest(
      ctx.server.port,
      'POST /cgi-bin/echo.py HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\nConnection: close\r\n\r\n' +
        '5\r\nhello\r\n0\r\nX-T: trailing\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply).toMatch(/x-content-length-env: 5/i);
    expect(reply).toContain('hello');
    expect(reply).not.toContain('trailing');
  });

  it('streams a chunked body without CONTENT_LENGTH with chunkedRequests: "stream"', async () => {
    const server = await ctx.start({ chunkedRequests: 'stream' });
    const reply = await request(`${server.origin}/cgi-bin/echo.py`, { method: 'POST', body: chunks(200_000) });
    expect(reply.headers['x-content-length-env']).toBe('unset');
    expect(reply.body.length).toBe(200_000);
  });

  it('rejects a chunked body with 411 when chunkedRequests is "reject"', async () => {
    const server = await ctx.start({ chunkedRequests: 'reject' });
    const reply = await request(`${server.origin}/cgi-bin/echo.py`, { method: 'POST', body: chunks(10) });
    expect(reply.status).toBe(411);
  });

  it('answers 413 before spawning when Content-Length exceeds maxRequestBody', async () => {
    const server = await ctx.start({ maxRequestBody: 1000 });
    // The body is sent: some frameworks' error handlers read it out before answering.
    const reply = await rawRequest(
      server.port,
      `POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n${'x'.repeat(1001)}`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toMatch(/connection: close/i);
    expect(server.events.some((e) => e.type === 'spawn')).toBe(false);
    expect((await request(`${server.origin}/cgi-bin/count.sh`, { method: 'POST', body: 'x'.repeat(1000) })).text).toBe(
      '1000\n',
    );
  });

  it('answers 413 when a chunked body grows past maxRequestBody, buffered or streamed', async () => {
    for (const mode of ['buffer', 'stream'] as const) {
      const server = await ctx.start({ maxRequestBody: 100_000, chunkedRequests: mode });
      const reply = await request(`${server.origin}/cgi-bin/count.sh`, {
        method: 'POST',
        body: chunks(1_000_000),
      }).catch((error: Error) => error);
      // Either the 413 arrives, or the server cut the upload off (streamed mode, script already running).
      if (!(reply instanceof Error)) expect(reply.status, mode).toBe(413);
      expect(server.logger.text()).toMatch(/request body over 100000 bytes/);
    }
  });

  it('delivers the response of a script that never reads its upload', async () => {
    const reply = await request(ctx.url('/cgi-bin/ignore-body.sh'), { method: 'POST', body: chunks(5_000_000) });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('ignored your body\n');
  });

  it('does not deadlock when a script echoes its stdin while still reading it', async () => {
    const server = await ctx.start({ maxRequestBody: 64 * 1024 * 1024 });
    const size = 32 * 1024 * 1024;
    const reply = await request(`${server.origin}/cgi-bin/cat.sh`, { method: 'POST', body: chunks(size) });
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(size);
  });

  it('sends the first bytes before the script finishes', async () => {
    const flag = join(ctx.root.scratch, 'release-first-byte');
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${ctx.url('/cgi-bin/slow-first-byte.sh')}?${flag}`, (res) => {
        let received = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          received += chunk;
          // The script waits for this file: it cannot finish until we have seen "first".
          if (received.includes('first') && !existsSync(flag)) writeFileSync(flag, '');
        });
        res.on('end', () => resolve(received));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(text).toBe('first\nsecond\n');
  });
});
