// The same legacy cgi-bin as examples/express-migration, under Hono, through the fetch handler.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createCgiFetchHandler, fetchInfoFromNode } from '@cgibridge/core';
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Builds the demo app; `options.dataDir` is where the guestbook keeps its file. The handler's
 * `gateway` is returned too, to close it (kill running scripts) on shutdown.
 */
export function createApp(options = {}) {
  const app = new Hono();
  const cgi = createCgiFetchHandler({
    root: here('../express-migration/cgi-bin'),
    mountPath: '/cgi-bin',
    env: { GUESTBOOK_DIR: options.dataDir ?? here('./data') },
    logger: options.logger,
    // A script's local redirect (Location: /path) goes through the whole app again.
    reenter: (request) => app.fetch(request),
  });

  app.get('/', (c) =>
    c.html(`<!doctype html><title>Acme on Hono</title><h1>Acme intranet (Hono)</h1>
<ul><li><a id="guestbook" href="/cgi-bin/guestbook.py">Guestbook</a> (legacy)</li>
<li><a id="login" href="/cgi-bin/login.py">Sign in</a> (legacy)</li>
<li><a id="welcome" href="/welcome">Welcome</a> (modern)</li></ul>`),
  );
  app.get('/welcome', (c) => {
    const user = getCookie(c, 'legacy_user');
    return c.html(
      `<!doctype html><title>Welcome</title><h1 id="greeting">Hello, ${escapeHtml(user ?? 'stranger')}!</h1>`,
    );
  });
  app.get('/style.css', async (c) =>
    c.body(await readFile(here('../express-migration/public/style.css')), 200, { 'Content-Type': 'text/css' }),
  );
  // On @hono/node-server, c.env holds Node's request: the raw target, headers and peer for the gateway.
  app.all(
    '/cgi-bin/*',
    async (c, next) => (await cgi(c.req.raw, fetchInfoFromNode(c.env?.incoming, c.env?.outgoing))) ?? next(),
  );
  return { app, gateway: cgi.gateway };
}
