// The same legacy cgi-bin as examples/express-migration, under Koa with @koa/router routes.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { cgi } from '@cgibridge/koa';
import Router from '@koa/router';
import Koa from 'koa';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Builds the demo app; `options.dataDir` is where the guestbook keeps its file. */
export function createApp(options = {}) {
  const app = new Koa();
  const router = new Router();

  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Acme on Koa</title><h1>Acme intranet (Koa)</h1>
<ul><li><a id="guestbook" href="/cgi-bin/guestbook.py">Guestbook</a> (legacy)</li>
<li><a id="login" href="/cgi-bin/login.py">Sign in</a> (legacy)</li>
<li><a id="welcome" href="/welcome">Welcome</a> (modern)</li></ul>`;
  });
  router.get('/welcome', (ctx) => {
    const user = ctx.cookies.get('legacy_user');
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Welcome</title><h1 id="greeting">Hello, ${escapeHtml(user ? decodeURIComponent(user) : 'stranger')}!</h1>`;
  });
  router.get('/style.css', async (ctx) => {
    ctx.type = 'css';
    ctx.body = await readFile(here('../express-migration/public/style.css'));
  });

  app.use(router.routes());
  app.use(
    cgi({
      root: here('../express-migration/cgi-bin'),
      mountPath: '/cgi-bin',
      env: { GUESTBOOK_DIR: options.dataDir ?? here('./data') },
      logger: options.logger,
    }),
  );
  return app;
}
