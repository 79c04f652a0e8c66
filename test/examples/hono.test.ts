import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptExpectContinue } from '@cgibridge/core';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import { rawRequest, request } from '../support/http.js';

describe('examples/hono', () => {
  let origin: string;
  let server: Server;
  let dataDir: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cgibridge-hono-'));
    const { app, gateway } = createApp({ dataDir, logger: false });
    server = await new Promise<Server>((resolve) => {
      const started: Server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(started),
      ) as Server;
    });
    acceptExpectContinue(server);
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await gateway.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
  });
  afterAll(async () => {
    await close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the legacy guestbook through the fetch handler on a Hono route', async () => {
    const post = await request(`${origin}/cgi-bin/guestbook.py`, {
      method: 'POST',
      body: 'name=Linus&message=hono',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status).toBe(303);
    expect(post.headers.location).toBe('/cgi-bin/guestbook.py');
    expect((await request(`${origin}/cgi-bin/guestbook.py`)).text).toContain('<li><b>Linus</b>: hono</li>');
  });

  it('greets on a modern Hono route the user the legacy login set', async () => {
    const login = await request(`${origin}/cgi-bin/login.py`, {
      method: 'POST',
      body: 'user=Barbara&password=legacy',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(login.headers.location).toBe('/welcome');
    const cookie = ((login.headers['set-cookie'] ?? [])[0] ?? '').split(';')[0] as string;
    expect((await request(`${origin}/welcome`, { headers: { Cookie: cookie } })).text).toContain('Hello, Barbara!');
  });

  it('refuses a traversal the URL parser would have resolved, as every other host does', async () => {
    // new URL() turns this into /cgi-bin/guestbook.py; the target as sent names a dot segment.
    const reply = await rawRequest(
      Number(new URL(origin).port),
      'GET /cgi-bin/%2e%2e/cgi-bin/guestbook.py HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 404 /);
    expect(reply).not.toContain('Guestbook');
  });

  it('falls through to the app for a URL no script answers', async () => {
    expect((await request(`${origin}/cgi-bin/no-such.py`)).status).toBe(404);
    expect((await request(`${origin}/`)).text).toContain('Acme intranet (Hono)');
  });
});
