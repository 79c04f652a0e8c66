import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-migration/app.js';
import { listenOn } from '../support/app-server.js';

// Debian's chromium package; .ci/run installs it. Never a browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../test-results/', import.meta.url));

describe('the migration demo in a real browser (headless Chromium)', () => {
  let browser: Browser;
  let app: Awaited<ReturnType<typeof listenOn>>;
  let dev: Awaited<ReturnType<typeof listenOn>>;
  let dataDir: string;

  /** A page that records what its console and the page itself report as errors. */
  async function watchedPage(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        errors.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('requestfailed', (request) => {
      const why = request.failure()?.errorText ?? 'unknown';
      // Chromium cancels a favicon still loading when the page navigates on: not a server fault.
      if (why === 'net::ERR_ABORTED' && new URL(request.url()).pathname.startsWith('/favicon.')) return;
      errors.push(`failed (${why}): ${request.url()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) errors.push(`${response.status()}: ${response.url()}`);
    });
    return { page, errors };
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
    dataDir = mkdtempSync(join(tmpdir(), 'cgibridge-e2e-'));
    app = await listenOn(createApp({ dataDir, logger: false }));
    dev = await listenOn(createApp({ dataDir, logger: false, debug: true }));
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
    await dev?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('signs the legacy guestbook, logs in through the legacy script, and moves between both worlds', async () => {
    const { page, errors } = await watchedPage();
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

    // A wrong password: the legacy login answers 401 with its form again.
    await page.click('#login');
    await page.fill('#user', 'Ada');
    await page.fill('#password', 'guess');
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/cgi-bin/login.py')),
      page.click('#submit'),
    ]);
    expect(refused.status()).toBe(401);
    expect(await page.textContent('#error')).toBe('Wrong name or password.');
    // The only error the browser saw is that expected 401.
    expect(errors.splice(0)).toEqual([
      `401: ${app.origin}/cgi-bin/login.py`,
      expect.stringMatching(/^error: Failed to load resource: .*401/),
    ]);
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

    // Every other legacy page, by its links, and back.
    for (const [link, heading] of [
      ['#report', 'Sales 2026'],
      ['#uptime', 'Server status'],
    ] as const) {
      await page.click(link);
      expect(await page.textContent('h1')).toBe(heading);
      await page.click('#home');
      await page.waitForURL(`${app.origin}/`);
    }
    await page.click('#report');
    await page.click('text=2025');
    expect(await page.textContent('h1')).toBe('Sales 2025');
    expect(page.url()).toBe(`${app.origin}/cgi-bin/report.pl/2025?format=html`);

    mkdirSync(OUTPUT, { recursive: true });
    const shot = join(OUTPUT, 'migration-demo.png');
    await page.goto(`${app.origin}/welcome`);
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(1000);
    expect(errors, 'console errors, failed or refused requests').toEqual([]);
  }, 60_000);

  it('shows the development error page for the broken legacy script, with debug only', async () => {
    const { page, errors } = await watchedPage();
    const bare = await page.goto(`${app.origin}/cgi-bin/inventory.py`);
    expect(bare?.status()).toBe(502);
    expect(await page.content()).not.toContain('FileNotFoundError');

    const reply = await page.goto(`${dev.origin}/cgi-bin/inventory.py`);
    expect(reply?.status()).toBe(502);
    expect(await page.title()).toBe('502 Bad Gateway: /cgi-bin/inventory.py');
    // It printed its page before any header: refused as soon as that line was read.
    expect(await page.textContent('#diagnosis pre')).toContain('malformed header line "<h1>Inventory</h1>"');
    // The script's markup is shown as text, never run or rendered.
    expect(await page.textContent('#output pre')).toBe('<h1>Inventory</h1>\n');
    expect(await page.locator('#output h1').count()).toBe(0);
    expect(await page.textContent('#stderr pre')).toContain(
      "FileNotFoundError: [Errno 2] No such file or directory: '/var/lib/acme/stock.csv'",
    );
    // Either it had already exited with its traceback, or cgibridge stopped it on that line.
    expect(await page.textContent('#exit pre')).toMatch(/^the script (exited with status 1|was killed by SIGTERM)/);

    mkdirSync(OUTPUT, { recursive: true });
    const shot = join(OUTPUT, 'development-error-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(1000);
    // The two 502s, and nothing else: no blocked style, no script error (the CSP allows inline style only).
    expect(errors.filter((error) => !/502|Failed to load resource/.test(error))).toEqual([]);
  }, 60_000);
});
