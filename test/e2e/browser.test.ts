import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-migration/app.js';
import { listenOn } from '../support/app-server.js';

// Debian's chromium package; .ci/run installs it. Never a browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../test-results/', import.meta.url));

describe('the migration demo in a real browser (headless Chromium)', () => {
  let browser: Browser;
  let app: Awaited<ReturnType<typeof listenOn>>;
  let dataDir: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
    dataDir = mkdtempSync(join(tmpdir(), 'cgibridge-e2e-'));
    app = await listenOn(createApp({ dataDir, logger: false }));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // This machine's network is closed: background services would only fail and retry.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('signs the legacy guestbook, logs in through the legacy script, and moves between both worlds', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.origin}/`);

    // Modern page -> legacy guestbook; the form posts, the script answers 303, the browser lands on the list.
    await page.click('#guestbook');
    await page.waitForURL(`${app.origin}/cgi-bin/guestbook.py`);
    await page.fill('#name', 'Ada Lovelace');
    await page.fill('#message', 'Signed from Chromium');
    const [posted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/cgi-bin/guestbook.py')),
      page.click('#sign'),
    ]);
    expect(posted.status()).toBe(303);
    await page.waitForURL(`${app.origin}/cgi-bin/guestbook.py`);
    expect(await page.textContent('#entries')).toContain('Ada Lovelace: Signed from Chromium');

    // Legacy -> modern.
    await page.click('#home');
    await page.waitForURL(`${app.origin}/`);

    // The legacy login sets the cookie; the modern page greets from it.
    await page.click('#login');
    await page.fill('#user', 'Ada');
    await page.fill('#password', 'legacy');
    await page.click('#submit');
    await page.waitForURL(`${app.origin}/welcome`);
    expect(await page.textContent('#greeting')).toBe('Hello, Ada!');

    // Modern -> legacy -> modern again.
    await page.click('#to-guestbook');
    await page.waitForURL(`${app.origin}/cgi-bin/guestbook.py`);
    await page.click('#home');
    await page.waitForURL(`${app.origin}/`);
    expect(await page.title()).toBe('Acme intranet');

    mkdirSync(OUTPUT, { recursive: true });
    const shot = join(OUTPUT, 'migration-demo.png');
    await page.goto(`${app.origin}/welcome`);
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(1000);
  }, 60_000);
});
