// Starts one benchmark host on 127.0.0.1, port 0, serving a scripts directory (default
// bench/scripts) under /cgi-bin, and prints "listening <port>" (or "unavailable <why>"). One
// process per host, so the runner can read each host's own memory. The runner copies this file
// next to a baseline build, so the same harness serves the code of another git ref.
//
//   node host.mjs <floor|floor+|express(floor+)|koa(floor+)|cgibridge|express|koa|cgi|cgi-core> [scripts-dir]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.argv[3] ?? fileURLToPath(new URL('./scripts/', import.meta.url));
const options = { root: ROOT, maxRequestBody: Number.POSITIVE_INFINITY, timeout: 120_000, logger: false };

async function floor() {
  // The cost of Node's spawn plus HTTP and nothing else: no parsing, no checks, the script's
  // raw stdout (its CGI header block included) becomes the body.
  return createServer((req, res) => {
    const name = (req.url ?? '/').split('?')[0].slice('/cgi-bin/'.length);
    const query = (req.url ?? '').split('?')[1] ?? '';
    // The same PATH the gateways pass, so `#!/usr/bin/env python3` finds the same interpreter.
    const child = spawn(join(ROOT, name), [], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { PATH: process.env.PATH ?? '', QUERY_STRING: query },
    });
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);
    child.stdout.pipe(res);
  });
}

const FLOOR_PLUS_ENV = { PATH: process.env.PATH ?? '', GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1' };
for (let i = 0; i < 20; i++) FLOOR_PLUS_ENV[`CGI_VAR_${i}`] = 'x'.repeat(24);

/**
 * Starts a script as floor+ does: the floor plus what a correct gateway cannot skip, and
 * nothing else: stderr captured (drained), a process group of its own, a CGI-sized
 * environment. Still no parsing. Returns the script's stdout.
 */
function spawnFloorPlus(req, url) {
  const name = url.split('?')[0].slice('/cgi-bin/'.length);
  const query = url.split('?')[1] ?? '';
  // Object.assign, not a spread: a spread's result costs about 20 µs more to extend.
  const env = Object.assign({}, FLOOR_PLUS_ENV);
  env.QUERY_STRING = query;
  const child = spawn(join(ROOT, name), [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd: ROOT, env });
  child.stdin.on('error', () => {});
  child.stderr.resume();
  req.pipe(child.stdin);
  return child.stdout;
}

async function floorPlus() {
  return createServer((req, res) => spawnFloorPlus(req, req.url ?? '/').pipe(res));
}

/**
 * Reference hosts for the adapters: floor+ answering through the framework (Express: piped
 * to `res`; Koa: as `ctx.body`, through Koa's own response handling, as the adapter does),
 * so the framework's own cost per request is measured apart from the adapter's.
 */
async function frameworkAroundFloorPlus(framework) {
  if (framework === 'express') {
    const { default: express } = await import('express');
    const app = express();
    app.use('/cgi-bin', (req, res) => spawnFloorPlus(req, req.originalUrl).pipe(res));
    return createServer(app);
  }
  const { default: Koa } = await import('koa');
  const app = new Koa();
  app.use((ctx) => {
    ctx.status = 200;
    ctx.body = spawnFloorPlus(ctx.req, ctx.url);
  });
  return createServer(app.callback());
}

const hosts = {
  floor,
  'floor+': floorPlus,
  'express(floor+)': () => frameworkAroundFloorPlus('express'),
  'koa(floor+)': () => frameworkAroundFloorPlus('koa'),
  async cgibridge() {
    const { createCgiHandler } = await import('@cgibridge/core');
    return createServer(createCgiHandler({ ...options, mountPath: '/cgi-bin' }));
  },
  async express() {
    const { default: express } = await import('express');
    const { cgi } = await import('@cgibridge/express');
    const app = express();
    app.use('/cgi-bin', cgi(options));
    return createServer(app);
  },
  async koa() {
    const { default: Koa } = await import('koa');
    const { cgi } = await import('@cgibridge/koa');
    const app = new Koa();
    app.use(cgi({ ...options, mountPath: '/cgi-bin' }));
    return createServer(app.callback());
  },
  async cgi() {
    // The npm package "cgi" (node-cgi): one handler per script, mounted in Express.
    const { default: express } = await import('express');
    const { default: cgi } = await import('cgi');
    const app = express();
    for (const name of readdirSync(ROOT)) app.use(`/cgi-bin/${name}`, cgi(join(ROOT, name)));
    return createServer(app);
  },
  async 'cgi-core'() {
    // As its README shows: createHandler({ urlPath, filePath }) on a plain server.
    const { createHandler } = await import('cgi-core');
    const handler = createHandler({ urlPath: '/cgi-bin', filePath: ROOT, requireExecBit: false });
    return createServer((req, res) => void handler(req, res));
  },
};

const name = process.argv[2];
let server;
try {
  server = await hosts[name]();
} catch (error) {
  console.log(`unavailable ${error.code ?? error.message}`);
  process.exit(0);
}
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
