// The same legacy cgi-bin as examples/express-migration, under Koa with @koa/router routes.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { logAccess } from '@cgibridge/core';
import { cgi } from '@cgibridge/koa';
import Router from '@koa/router';
import Koa from 'koa';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Builds the demo app; `options.dataDir` is where the guestbook keeps its file, `options.logger` where lines go. */
export function createApp(options = {}) {
  const app = new Koa();
  const router = new Router();
  const legacy = cgi({
    root: here('../express-migration/cgi-bin'),
    mountPath: '/cgi-bin',
    env: { GUESTBOOK_DIR: options.dataDir ?? here('./data') },
    logger: options.logger,
    accessLog: true,
  });
  // The modern routes log the same access line as the scripts, in the same log.
  const log = (ctx) => logAccess(legacy.gateway.config.logger, ctx.req, ctx.res, ctx.ip);
  router.use((ctx, next) => {
    log(ctx);
    return next();
  });

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
  router.get(['/favicon.svg', '/favicon.ico'], async (ctx) => {
    ctx.type = 'image/svg+xml';
    ctx.body = await readFile(here('../express-migration/public/favicon.svg'));
  });

  app.use(router.routes());
  app.use(legacy);
  // Reached by what neither answered: Koa's 404, logged all the same.
  app.use((ctx) => log(ctx));
  return app;
}
