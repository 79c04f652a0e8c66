// The migration story: modern Express routes and a legacy cgi-bin in one app.
import { fileURLToPath } from 'node:url';
import { logAccess } from '@cgibridge/core';
import { cgi } from '@cgibridge/express';
import cookieParser from 'cookie-parser';
import express from 'express';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/style.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head>
<body><header><a href="/">Acme intranet</a> <span class="badge modern">modern</span></header>
<main>${body}</main></body></html>`;

/**
 * Builds the demo app. `options.dataDir` is where the legacy guestbook keeps its file (tests
 * pass a temporary one); `options.logger` where log lines go (`false`: nowhere); `options.debug`
 * turns on cgibridge's development error page (never in production).
 */
export function createApp(options = {}) {
  const app = express();
  const dataDir = options.dataDir ?? here('./data');

  // The legacy cgi-bin, mounted before any body parser: scripts read their own stdin.
  const legacy = cgi({
    root: here('./cgi-bin'),
    env: { GUESTBOOK_DIR: dataDir },
    logger: options.logger,
    accessLog: true,
    debug: options.debug === true,
  });
  app.use('/cgi-bin', legacy);
  // Whatever the scripts did not answer gets the same access line, in the same log.
  app.use((req, res, next) => {
    logAccess(legacy.gateway.config.logger, req, res);
    next();
  });

  // Modern routes.
  app.use(cookieParser());
  app.use(express.static(here('./public')));
  // Browsers ask for /favicon.ico whatever the page links (a JSON page links nothing).
  app.get('/favicon.ico', (_req, res) => res.type('image/svg+xml').sendFile(here('./public/favicon.svg')));

  app.get('/', (_req, res) => {
    res.send(
      page(
        'Acme intranet',
        `<h1>Acme intranet</h1>
<p>New pages are Express routes; old ones are still CGI scripts, served by cgibridge from the same app.</p>
<h2>Legacy (CGI)</h2>
<ul>
  <li><a id="guestbook" href="/cgi-bin/guestbook.py">Guestbook</a> (Python, classic <code>cgi</code> module style)</li>
  <li><a id="login" href="/cgi-bin/login.py">Sign in</a> (Python: sets the session cookie)</li>
  <li><a id="report" href="/cgi-bin/report.pl/2026?format=html">Sales report 2026</a>
    (Perl: the year from PATH_INFO, <code>?format=html</code> or <a id="report-csv" href="/cgi-bin/report.pl/2026?format=csv">CSV</a>)</li>
  <li><a id="uptime" href="/cgi-bin/uptime.sh">Server status</a> (shell)</li>
  <li><a id="inventory" href="/cgi-bin/inventory.py">Inventory</a> (Python, broken since 2009: start with
    <code>npm run dev</code> to see cgibridge's development error page instead of a bare 502)</li>
</ul>
<h2>Modern (Express)</h2>
<ul>
  <li><a id="welcome" href="/welcome">Welcome page</a> (reads the legacy session cookie with cookie-parser)</li>
  <li><a id="api" href="/api/status">/api/status</a> (JSON)</li>
</ul>`,
      ),
    );
  });

  app.get('/welcome', (req, res) => {
    const user = req.cookies.legacy_user;
    res.send(
      page(
        'Welcome',
        user
          ? `<h1 id="greeting">Hello, ${escapeHtml(user)}!</h1><p>This modern page read the cookie the legacy login script set.</p>
<p><a id="to-guestbook" href="/cgi-bin/guestbook.py">Sign the guestbook</a> or <a href="/">go home</a>.</p>`
          : `<h1 id="greeting">Hello, stranger.</h1><p><a href="/cgi-bin/login.py">Sign in</a> with the legacy login, or <a href="/">go home</a>.</p>`,
      ),
    );
  });

  app.get('/api/status', (_req, res) => {
    res.json({ ok: true, legacy: '/cgi-bin', modern: ['/', '/welcome', '/api/status'] });
  });

  return app;
}
