import { createServer, get, type Server } from 'node:http';
import { connect, createServer as createHttp2Server, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { holdFirstWrite, sendCgiResult } from '@cgibridge/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The hold ends on a timer (5 ms); with that timer frozen, only the other releases are left:
// the body's end, or a write the socket's buffer refused.
describe('holdFirstWrite: a short response leaves in one write, a larger one is never stalled', () => {
  let server: Server | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(async () => {
    vi.useRealTimers();
    const open = server;
    server = undefined;
    if (open === undefined) return;
    open.closeAllConnections();
    await new Promise((resolve) => open.close(resolve));
  });

  /** A server whose every response is `body()` sent by sendCgiResult; resolves with its port. */
  async function serve(body: () => Readable): Promise<number> {
    const http = createServer((_req, res) => {
      const result = { kind: 'document' as const, status: 200, statusText: undefined, scriptName: '/x' };
      sendCgiResult({ ...result, headers: [['Content-Type', 'application/octet-stream']], body: body() }, res);
    });
    server = http;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return (http.address() as AddressInfo).port;
  }

  /** Resolves once `bytes` body bytes have arrived (the body may stay open). */
  function receive(port: number, bytes: number): Promise<number> {
    return new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= bytes) {
            res.destroy();
            resolve(received);
          }
        });
      }).on('error', reject);
    });
  }

  it('lets a body larger than the socket buffer go at the first refused write, not at the timer', async () => {
    // 256 KiB from a script that then keeps stdout open: before, nothing left until the timer.
    const port = await serve(() => {
      const body = new Readable({ read() {} });
      for (let i = 0; i < 4; i++) body.push(Buffer.alloc(64 * 1024, 0x61));
      return body;
    });
    expect(await receive(port, 256 * 1024)).toBe(256 * 1024);
  }, 5000);

  it('sends a short body at its end', async () => {
    const port = await serve(() => Readable.from([Buffer.from('hello\n')]));
    expect(await receive(port, 6)).toBe(6);
  }, 5000);

  it('holds nothing on an HTTP/2 response, whose socket is the whole session', async () => {
    const corked: number[] = [];
    const h2 = createHttp2Server((_req, res) => {
      holdFirstWrite(res as unknown as Parameters<typeof holdFirstWrite>[0], Readable.from(['x']));
      corked.push((res as Http2ServerResponse).stream.session?.socket.writableCorked ?? -1);
      res.end('done');
    });
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const client = connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    const stream = client.request({ ':path': '/' });
    stream.resume();
    await new Promise((resolve) => stream.on('end', resolve));
    client.close();
    await new Promise((resolve) => h2.close(resolve));
    expect(corked).toEqual([0]);
  }, 5000);
});
