import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/koa/app.js';
import { listenOn } from '../support/app-server.js';
import { request } from '../support/http.js';
import { MemoryLogger } from '../support/servers.js';
import { eventually } from '../support/suite.js';

describe('examples/koa', () => {
  let app: Awaited<ReturnType<typeof listenOn>>;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cgibridge-koa-'));
    const koa = createApp({ dataDir, logger: false });
    koa.silent = true;
    app = await listenOn(koa.callback());
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the legacy guestbook under Koa', async () => {
    const post = await request(`${app.origin}/cgi-bin/guestbook.py`, {
      method: 'POST',
      body: 'name=Linus&message=koa',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status).toBe(303);
    expect((await request(`${app.origin}/cgi-bin/guestbook.py`)).text).toContain('<li><b>Linus</b>: koa</li>');
  });

  it('greets on a @koa/router route the user the legacy login set', async () => {
    const login = await request(`${app.origin}/cgi-bin/login.py`, {
      method: 'POST',
      body: 'user=Barbara&password=legacy',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(login.headers.location).toBe('/welcome');
    const cookie = ((login.headers['set-cookie'] ?? [])[0] ?? '').split(';')[0] as string;
    expect((await request(`${app.origin}/welcome`, { headers: { Cookie: cookie } })).text).toContain('Hello, Barbara!');
  });

  it('logs every request, script, route or 404, with one access line', async () => {
    const logger = new MemoryLogger();
    const koa = createApp({ dataDir, logger });
    koa.silent = true;
    const logged = await listenOn(koa.callback());
    try {
      for (const path of ['/welcome', '/cgi-bin/login.py', '/nowhere']) await request(`${logged.origin}${path}`);
      await eventually(() => logger.lines.length >= 3, 5000, 'three access lines');
      const access = /^\S+Z INFO \S+ 127\.0\.0\.1 GET (\S+) (\d{3}) [\d.]+ms exit=(\S+) in=0 out=\d+$/;
      const lines = logger.lines.map((line) => access.exec(line.message)?.slice(1) ?? [line.message]);
      expect(lines.sort()).toEqual([
        ['/cgi-bin/login.py', '200', '0'],
        ['/nowhere', '404', '-'],
        ['/welcome', '200', '-'],
      ]);
    } finally {
      await logged.close();
    }
  });
});
