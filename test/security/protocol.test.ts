import { connect, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { securityGroup } from '../support/security.js';

/** A raw connection that records what arrives and whether the server closed it. */
function open(port: number): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => {
    data += chunk;
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, closed };
}

/** Resolves once `check` holds for what arrived; fails after `ms` (a bound, not a timing assertion). */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`nothing arrived: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

securityGroup('security: protocol edges', (ctx) => {
  it('a script writing past its Content-Length: the declared bytes, then the connection closes (no hang)', async () => {
    const { socket, received, closed } = open(ctx.server.port);
    socket.write('GET /cgi-bin/long-length.sh HTTP/1.1\r\nHost: x\r\n\r\n');
    await Promise.race([closed, until(() => false, 8000, 'the server to close the connection')]);
    const reply = received();
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply).toMatch(/content-length: 5\r\n/i);
    expect(reply.endsWith('\r\n\r\nhello')).toBe(true);
    await ctx.probe('/cgi-bin/hello.sh');
  });

  it('refuses an oversized upload as soon as it is decided, while the client is still sending', async () => {
    const server = await ctx.start({ maxRequestBody: 1024 * 1024 });
    const { socket, received } = open(server.port);
    socket.write('POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n');
    socket.write(Buffer.alloc(1024));
    // The rest of the body never comes: the answer must not wait for it.
    await until(() => /^HTTP\/1\.1 413 /.test(received()), 8000, 'a 413');
    socket.destroy();
  });

  it('the timeout bounds the whole exchange, a stalled upload included: 504', async () => {
    const server = await ctx.start({ timeout: 1000, killGrace: 100 });
    const { socket, received } = open(server.port);
    socket.write('POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
    await until(() => /^HTTP\/1\.1 504 /.test(received()), 8000, 'a 504');
    socket.destroy();
  });

  it('decides on Expect: 100-continue before the upload: a refusal without 100, a welcome with it', async () => {
    const server = await ctx.start({ maxRequestBody: 1024 });
    const refused = open(server.port);
    refused.socket.write(
      'POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\nExpect: 100-continue\r\n\r\n',
    );
    await until(() => /\r\n\r\n/.test(refused.received()), 8000, 'an answer');
    expect(refused.received()).toMatch(/^HTTP\/1\.1 413 /);
    refused.socket.destroy();
    const welcome = open(server.port);
    welcome.socket.write(
      'POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
    );
    await until(() => welcome.received().startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 8000, '100 Continue');
    welcome.socket.write('abcde');
    await welcome.closed;
    expect(welcome.received()).toMatch(/HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n(2\r\n)?5\n/);
  });
});
