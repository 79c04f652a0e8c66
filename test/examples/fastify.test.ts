import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/fastify/app.js';
import { request } from '../support/http.js';

describe('examples/fastify', () => {
  let app: FastifyInstance;
  let origin: string;
  let dataDir: string;
  const logged: string[] = [];
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cgibridge-fastify-'));
    // The app's pino logger, written to memory: the plugin logs through it.
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logged.push(String(chunk));
        done();
      },
    });
    app = await createApp({ dataDir, pino: { level: 'info', stream } });
    origin = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the legacy guestbook as a Fastify plugin under /cgi-bin', async () => {
    const post = await request(`${origin}/cgi-bin/guestbook.py`, {
      method: 'POST',
      body: 'name=Margaret&message=fastify',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status).toBe(303);
    expect((await request(`${origin}/cgi-bin/guestbook.py`)).text).toContain('<li><b>Margaret</b>: fastify</li>');
  });

  it('greets on a modern Fastify route the user the legacy login set', async () => {
    const login = await request(`${origin}/cgi-bin/login.py`, {
      method: 'POST',
      body: 'user=Grace&password=legacy',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(login.headers.location).toBe('/welcome');
    const cookie = ((login.headers['set-cookie'] ?? [])[0] ?? '').split(';')[0] as string;
    expect((await request(`${origin}/welcome`, { headers: { Cookie: cookie } })).text).toContain('Hello, Grace!');
  });

  it("logs through the app's pino logger", async () => {
    const reply = await request(`${origin}/cgi-bin/.hidden.py`);
    expect(reply.status).toBe(404);
    const messages = logged.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.some((message) => /"\/cgi-bin\/\.hidden\.py": refused/.test(message))).toBe(true);
  });
});
