// The same legacy cgi-bin as examples/express-migration, as a Fastify plugin beside modern routes.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { acceptExpectContinue, cgi } from '@cgibridge/fastify';
import Fastify from 'fastify';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The `legacy_user` cookie from a Cookie header (no cookie plugin needed for one value). */
function legacyUser(header = '') {
  const pair = header.split(/;\s*/).find((part) => part.startsWith('legacy_user='));
  return pair && decodeURIComponent(pair.slice('legacy_user='.length));
}

/**
 * Builds the demo app; `options.dataDir` is where the guestbook keeps its file. The plugin logs
 * through the app's logger (pino) unless `options.logger` says otherwise.
 */
export async function createApp(options = {}) {
  const app = Fastify({ logger: options.pino ?? false });
  // Expect: 100-continue is decided by the gateway, not answered before it runs.
  acceptExpectContinue(app.server);

  app.get('/', (_request, reply) =>
    reply.type('text/html').send(`<!doctype html><title>Acme on Fastify</title><h1>Acme intranet (Fastify)</h1>
<ul><li><a id="guestbook" href="/cgi-bin/guestbook.py">Guestbook</a> (legacy)</li>
<li><a id="login" href="/cgi-bin/login.py">Sign in</a> (legacy)</li>
<li><a id="welcome" href="/welcome">Welcome</a> (modern)</li></ul>`),
  );
  app.get('/welcome', (request, reply) =>
    reply
      .type('text/html')
      .send(
        `<!doctype html><title>Welcome</title><h1 id="greeting">Hello, ${escapeHtml(legacyUser(request.headers.cookie) ?? 'stranger')}!</h1>`,
      ),
  );
  app.get('/style.css', async (_request, reply) =>
    reply.type('text/css').send(await readFile(here('../express-migration/public/style.css'))),
  );
  await app.register(cgi, {
    prefix: '/cgi-bin',
    root: here('../express-migration/cgi-bin'),
    env: { GUESTBOOK_DIR: options.dataDir ?? here('./data') },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return app;
}
