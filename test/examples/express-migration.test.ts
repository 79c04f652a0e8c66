import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-migration/app.js';
import { listenOn } from '../support/app-server.js';
import { json, request } from '../support/http.js';
import { MemoryLogger } from '../support/servers.js';
import { eventually } from '../support/suite.js';

describe('examples/express-migration', () => {
  let app: Awaited<ReturnType<typeof listenOn>>;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cgibridge-guestbook-'));
    app = await listenOn(createApp({ dataDir, logger: false }));
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('links the legacy scripts and the modern routes from the home page', async () => {
    const home = await request(`${app.origin}/`);
    for (const href of [
      '/cgi-bin/guestbook.py',
      '/cgi-bin/login.py',
      '/cgi-bin/report.pl/2026?format=html',
      '/welcome',
    ]) {
      expect(home.text).toContain(`href="${href}"`);
    }
  });

  it('signs the Python guestbook: POST, a real 303, the entry in the list', async () => {
    const post = await request(`${app.origin}/cgi-bin/guestbook.py`, {
      method: 'POST',
      body: 'name=Ada&message=Hello+%26+goodbye',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status).toBe(303);
    expect(post.headers.location).toBe('/cgi-bin/guestbook.py');
    const list = await request(`${app.origin}${post.headers.location}`);
    expect(list.text).toContain('<li><b>Ada</b>: Hello &amp; goodbye</li>');
  });

  it('logs in through the legacy script, and the modern page reads its cookie', async () => {
    const login = await request(`${app.origin}/cgi-bin/login.py`, {
      method: 'POST',
      body: 'user=Grace&password=legacy',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/welcome');
    const cookie = (login.headers['set-cookie'] ?? [])[0] ?? '';
    expect(cookie).toMatch(/^legacy_user=Grace; Path=\/; HttpOnly/);
    const welcome = await request(`${app.origin}/welcome`, { headers: { Cookie: cookie.split(';')[0] as string } });
    expect(welcome.text).toContain('<h1 id="greeting">Hello, Grace!</h1>');
    const wrong = await request(`${app.origin}/cgi-bin/login.py`, {
      method: 'POST',
      body: 'user=Grace&password=guess',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Form realm="Acme intranet"');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.text).toContain('Wrong name or password.');
    expect(wrong.text).toContain('<input name="user" id="user" value="Grace">');
  });

  it('runs the Perl report with its year from PATH_INFO and its format from the query', async () => {
    const report = await request(`${app.origin}/cgi-bin/report.pl/2024?format=html`);
    expect(report.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(report.text).toContain('<h1>Sales 2024</h1>');
    expect(report.text).toContain('<tr><td>2024-Q3</td><td>3024</td></tr>');
    expect(report.text).toContain('<a id="csv" href="/cgi-bin/report.pl/2024?format=csv">');
    expect(report.text).toContain('<a href="/cgi-bin/report.pl/2025?format=html">2025</a>');
    const csv = await request(`${app.origin}/cgi-bin/report.pl/2024?format=csv`);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.text).toBe('quarter,units\r\n2024-Q1,1024\r\n2024-Q2,2024\r\n2024-Q3,3024\r\n2024-Q4,4024\r\n');
    expect((await request(`${app.origin}/cgi-bin/report.pl/2024?format=xml`)).status).toBe(400);
    expect((await request(`${app.origin}/cgi-bin/report.pl`)).text).toContain('<h1>Sales 2026</h1>');
  });

  it('shows the server status as a page', async () => {
    const status = await request(`${app.origin}/cgi-bin/uptime.sh`);
    expect(status.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(status.text).toMatch(/<td id="host">127\.0\.0\.1:\d+<\/td>/);
    expect(status.text).toMatch(/<td id="software">cgibridge\/[\d.]+<\/td>/);
    expect(status.text).toContain('<td id="script">/cgi-bin/uptime.sh</td>');
  });

  it('gives every legacy page the same header, icon and way back', async () => {
    for (const path of [
      '/cgi-bin/guestbook.py',
      '/cgi-bin/login.py',
      '/cgi-bin/report.pl/2026?format=html',
      '/cgi-bin/uptime.sh',
    ]) {
      const page = await request(`${app.origin}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.text, path).toContain('<link rel="stylesheet" href="/style.css">');
      expect(page.text, path).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml">');
      expect(page.text, path).toContain(
        '<header><a href="/">Acme intranet</a> <span class="badge legacy">legacy CGI</span></header>',
      );
      expect(page.text, path).toContain('<a id="home" href="/">Back to the home page</a>');
    }
    for (const icon of ['/favicon.svg', '/favicon.ico']) {
      const reply = await request(`${app.origin}${icon}`);
      expect(reply.status, icon).toBe(200);
      expect(reply.headers['content-type'], icon).toMatch(/^image\/svg\+xml/);
    }
  });

  it('answers the broken inventory script with a bare 502, the development page only with debug', async () => {
    const bare = await request(`${app.origin}/cgi-bin/inventory.py`, { headers: { Accept: 'text/html' } });
    expect(bare.status).toBe(502);
    expect(bare.text).not.toContain('Inventory');
    const dev = await listenOn(createApp({ dataDir, logger: false, debug: true }));
    try {
      const page = await request(`${dev.origin}/cgi-bin/inventory.py`, { headers: { Accept: 'text/html' } });
      expect(page.status).toBe(502);
      expect(page.text).toContain('&lt;h1&gt;Inventory&lt;/h1&gt;');
      expect(page.text).toContain('FileNotFoundError');
      expect(page.text).toContain('malformed header line &quot;&lt;h1&gt;Inventory&lt;/h1&gt;&quot;');
    } finally {
      await dev.close();
    }
  });

  it('logs every request, legacy and modern, with one access line format', async () => {
    const logger = new MemoryLogger();
    const logged = await listenOn(createApp({ dataDir, logger }));
    try {
      for (const path of ['/', '/cgi-bin/uptime.sh', '/style.css', '/cgi-bin/missing.py']) {
        await request(`${logged.origin}${path}`);
      }
      await eventually(() => logger.lines.length >= 4, 5000, 'four access lines');
      const access = /^\S+Z INFO \S+ 127\.0\.0\.1 GET (\S+) (\d{3}) [\d.]+ms exit=(\S+) in=0 out=\d+$/;
      // A script's line comes once it has exited, possibly after the next request's.
      const lines = logger.lines.map((line) => access.exec(line.message)?.slice(1) ?? [line.message]);
      expect(lines.sort()).toEqual([
        ['/', '200', '-'],
        ['/cgi-bin/missing.py', '404', '-'],
        ['/cgi-bin/uptime.sh', '200', '0'],
        ['/style.css', '200', '-'],
      ]);
    } finally {
      await logged.close();
    }
  });

  it('serves the modern JSON API and a 404 for what neither world knows', async () => {
    expect(json(await request(`${app.origin}/api/status`))).toMatchObject({ ok: true, legacy: '/cgi-bin' });
    expect((await request(`${app.origin}/cgi-bin/missing.py`)).status).toBe(404);
  });
});
