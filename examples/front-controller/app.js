// The front-controller pattern: one legacy script answers every URL under /pycgi.
import { fileURLToPath } from 'node:url';
import { cgi } from '@cgibridge/express';
import express from 'express';

/** Builds the demo app: `/pycgi/*` is the Python app, `/` a modern page pointing at it. */
export function createApp(options = {}) {
  const app = express();
  app.use('/pycgi', cgi({ script: fileURLToPath(new URL('./app.py', import.meta.url)), logger: options.logger }));
  app.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><title>Front controller</title><a href="/pycgi/">The Python catalogue</a>');
  });
  return app;
}
