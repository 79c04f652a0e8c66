// The front-controller pattern: one legacy script answers every URL under /pycgi.
import { fileURLToPath } from 'node:url';
import { logAccess } from '@cgibridge/core';
import { cgi } from '@cgibridge/express';
import express from 'express';

/** Builds the demo app: `/pycgi/*` is the Python app, `/` a modern page pointing at it. */
export function createApp(options = {}) {
  const app = express();
  const legacy = cgi({
    script: fileURLToPath(new URL('./app.py', import.meta.url)),
    logger: options.logger,
    accessLog: true,
  });
  app.use('/pycgi', legacy);
  // What the script did not answer gets the same access line, in the same log.
  app.use((req, res, next) => {
    logAccess(legacy.gateway.config.logger, req, res);
    next();
  });
  app.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><title>Front controller</title><a href="/pycgi/">The Python catalogue</a>');
  });
  return app;
}
