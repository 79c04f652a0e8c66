// A CommonJS application requiring the ESM packages (Node 20.19+ and 22.12+ can require() ESM).
'use strict';
const http = require('node:http');
const path = require('node:path');
const { createCgiHandler, CgiError } = require('@cgibridge/core');
const cli = require('cgibridge');
const expressAdapter = require('@cgibridge/express');
const koaAdapter = require('@cgibridge/koa');

if (
  typeof CgiError !== 'function' ||
  typeof cli.parseDuration !== 'function' ||
  typeof expressAdapter.cgi !== 'function' ||
  typeof koaAdapter.cgi !== 'function'
) {
  throw new Error('missing exports');
}
const handler = createCgiHandler({
  root: path.join(__dirname, '..', 'fixtures', 'cgi-bin'),
  mountPath: '/cgi-bin',
  logger: false,
});
const server = http.createServer(handler).listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  http.get({ host: '127.0.0.1', port, path: '/cgi-bin/hello.pl' }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => {
      process.stdout.write(
        JSON.stringify({ status: res.statusCode, body, duration: cli.parseDuration('--timeout', '2s') }),
      );
      server.close();
    });
  });
});
