import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-migration/app.js';
import { listenOn } from '../support/app-server.js';
import { json, request } from '../support/http.js';

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
    expect(wrong.status).toBe(200);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.text).toContain('Wrong name or password.');
  });

  it('runs the Perl report with PATH_INFO and the shell status page', async () => {
    const report = await request(`${app.origin}/cgi-bin/report.pl/2024`);
    expect(report.text).toContain('<h1>Sales 2024</h1>');
    expect(report.text).toContain('<tr><td>2024-Q3</td><td>3024</td></tr>');
    const status = await request(`${app.origin}/cgi-bin/uptime.sh`);
    expect(status.text).toMatch(
      /^host: 127\.0\.0\.1:\d+\nserved by: cgibridge\/[\d.]+\nscript: \/cgi-bin\/uptime\.sh\n/,
    );
  });

  it('serves the modern JSON API and a 404 for what neither world knows', async () => {
    expect(json(await request(`${app.origin}/api/status`))).toMatchObject({ ok: true, legacy: '/cgi-bin' });
    expect((await request(`${app.origin}/cgi-bin/missing.py`)).status).toBe(404);
  });
});
