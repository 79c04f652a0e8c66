import { acceptExpectContinue } from '@cgibridge/core';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';

const { app, gateway } = createApp();
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3003), hostname: '127.0.0.1' }, (info) =>
  console.log(`hono example: http://127.0.0.1:${info.port}/`),
);
// An upload the gateway refuses (413, 503...) is refused before the client sends it.
acceptExpectContinue(server);
process.once('SIGINT', () => gateway.close().then(() => server.close()));
