import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';
import { makeScriptRoot, type ScriptRoot } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { alive, eventually, readPids } from '../support/suite.js';

let root: ScriptRoot;
beforeAll(() => {
  root = makeScriptRoot();
});
afterAll(() => root.cleanup());

/**
 * Writes `data` in one go, then reads until the server closes; resolves with what came back and
 * the socket error, if any (EPIPE, ECONNRESET: the server closed on bytes it had not read).
 */
function sendThenRead(port: number, data: Buffer, localAddress = '127.0.0.1'): Promise<string> {
  return sendThenReadAll(port, data, localAddress).then(({ reply }) => reply);
}

function sendThenReadAll(port: number, data: Buffer, localAddress = '127.0.0.1') {
  return new Promise<{ reply: string; error: string | undefined }>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let reply = '';
    let error: string | undefined;
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      reply += chunk;
    });
    socket.on('error', (failure: NodeJS.ErrnoException) => {
      error ??= failure.code;
    });
    socket.once('close', () => resolve({ reply, error }));
    socket.write(data);
  });
}

describe('cgibridge serve against hostile clients', () => {
  it('slow clients from one address cannot lock others out of the connection budget', async () => {
    const cli = await startCli([root.root, '--quiet'], 'ulimit -n 64');
    const slow: Socket[] = [];
    const drip = setInterval(() => {
      for (const socket of slow) socket.write('X-Slow: 1\r\n');
    }, 1000);
    try {
      for (let i = 0; i < 16; i++) {
        const socket = connect({ port: cli.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        socket.on('error', () => {});
        socket.write('GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\n');
        slow.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const reply = await request(`${cli.url}hello.sh`);
      expect(reply.text).toBe('hello from sh\n');
    } finally {
      clearInterval(drip);
      for (const socket of slow) socket.destroy();
      await cli.stop();
    }
  });

  it('answers a client that sends a whole unread upload before it reads', async () => {
    const cli = await startCli([root.root, '--quiet']);
    try {
      const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
      const head = `POST /cgi-bin/ignore-body.sh HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      const { reply, error } = await sendThenReadAll(cli.port, Buffer.concat([Buffer.from(head), body]));
      expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(reply).toContain('ignored your body');
      // The whole upload was taken (read and dropped): never a reset in the client's face.
      expect(error).toBeUndefined();
    } finally {
      await cli.stop();
    }
  });

  it('refuses an oversized Expect: 100-continue upload before the client sends it', async () => {
    const cli = await startCli([root.root, '--quiet', '--max-request-body', '1kb']);
    try {
      const reply = await sendThenRead(
        cli.port,
        Buffer.from(
          'POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\nExpect: 100-continue\r\n\r\n',
        ),
      );
      expect(reply).toMatch(/^HTTP\/1\.1 413 /);
      expect(reply).not.toContain('100 Continue');
    } finally {
      await cli.stop();
    }
  });

  it('shuts down on SIGTERM without waiting for a job that escaped its script', async () => {
    const cli = await startCli([root.root, '--quiet', '--kill-grace', '300ms']);
    const pids = join(root.scratch, 'escaped-on-shutdown');
    try {
      expect((await request(`${cli.url}escape.sh?${pids}`)).text).toBe('answered\n');
      cli.proc.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
    } finally {
      await cli.stop();
      const [escapee] = await readPids(pids);
      await eventually(() => {
        if (alive(escapee as number)) process.kill(escapee as number);
        return !alive(escapee as number);
      });
    }
  });
});
