import { Writable } from 'node:stream';
import { type CgiOptions, createCgiHandler } from '@cgibridge/core';
import { cgi as expressCgi } from '@cgibridge/express';
import { cgi as koaCgi } from '@cgibridge/koa';
import express from 'express';
import Koa from 'koa';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { useAppServers } from '../support/app-server.js';
import { request } from '../support/http.js';
import { MemoryLogger } from '../support/servers.js';
import { eventually } from '../support/suite.js';

const servers = useAppServers();

type Line = Record<string, unknown> & { level: number; time: number; msg: string; reqId?: string };

/** A real pino logger writing into `lines`, parsed. */
function pinoInto(lines: Line[]): pino.Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return pino({ level: 'debug' }, stream);
}

/** The same gateway options served by each host. */
const hosts: Array<[string, (options: CgiOptions) => Promise<string>]> = [
  ['node:http', (options) => servers.serve(createCgiHandler(options))],
  [
    'express',
    ({ mountPath, ...options }) => {
      const app = express();
      app.use(mountPath as string, expressCgi(options));
      return servers.serve(app);
    },
  ],
  [
    'koa',
    (options) => {
      const app = new Koa();
      app.use(koaCgi({ ...options, mountPath: '/cgi-bin' }));
      return servers.serve(app.callback());
    },
  ],
];

describe.each(hosts)('log lines through %s', (_name, serve) => {
  const base = () => ({ root: servers.root().root, mountPath: '/cgi-bin', accessLog: true });

  it('gives a real pino logger (fields, message): the access line and the stderr lines share the request id', async () => {
    const lines: Line[] = [];
    const logger = pinoInto(lines).child({ app: 'demo' });
    const origin = await serve({ ...base(), logger: logger as never });
    expect((await request(`${origin}/cgi-bin/stderr-as-written.sh?x=1`)).text).toBe('ok\n');
    await eventually(() => lines.some((line) => line.status === 200), 5000, 'the access line');
    const access = lines.find((line) => line.status === 200) as Line;
    expect(access).toMatchObject({
      level: 30,
      app: 'demo',
      client: '127.0.0.1',
      method: 'GET',
      target: '/cgi-bin/stderr-as-written.sh?x=1',
      status: 200,
      exitCode: 0,
      signal: null,
      bytesIn: 0,
      bytesOut: 3,
      scriptName: '/cgi-bin/stderr-as-written.sh',
    });
    expect(access.reqId).toMatch(/\S/);
    expect(typeof access.durationMs).toBe('number');
    expect(Math.abs(access.time - Date.now())).toBeLessThan(60_000);
    expect(access.msg).toMatch(
      /^127\.0\.0\.1 GET \/cgi-bin\/stderr-as-written\.sh\?x=1 200 [\d.]+ms exit=0 in=0 out=3$/,
    );
    const stderr = lines.filter((line) => line.msg.includes(' stderr: '));
    expect(stderr.map((line) => [line.level, line.reqId, line.msg])).toEqual([
      [40, access.reqId, '/cgi-bin/stderr-as-written.sh stderr: said "hello" to café \\ back'],
      [40, access.reqId, '/cgi-bin/stderr-as-written.sh stderr: esc\x1b[31m and\rcr'],
    ]);
  });

  it('gives a plain string logger one text line each, stderr as written but for control characters', async () => {
    const logger = new MemoryLogger();
    const origin = await serve({ ...base(), logger });
    await request(`${origin}/cgi-bin/stderr-as-written.sh`);
    await eventually(() => logger.lines.some((line) => / 200 /.test(line.message)), 5000, 'the access line');
    const access = logger.lines.find((line) => / 200 /.test(line.message));
    const id =
      /^\S+Z INFO (\S+) 127\.0\.0\.1 GET \/cgi-bin\/stderr-as-written\.sh 200 [\d.]+ms exit=0 in=0 out=3$/.exec(
        access?.message ?? '',
      )?.[1];
    expect(id, logger.text()).toBeDefined();
    expect(logger.lines.filter((line) => line.message.includes(' stderr: '))).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(
          new RegExp(`^\\S+Z WARN ${id} /cgi-bin/stderr-as-written\\.sh stderr: said "hello" to café \\\\ back$`),
        ),
      },
      {
        level: 'warn',
        message: expect.stringMatching(/ stderr: esc\\x1b\[31m and\\rcr$/),
      },
    ]);
  });

  it("writes pino-compatible JSON lines to a string logger with logFormat 'json'", async () => {
    const logger = new MemoryLogger();
    const origin = await serve({ ...base(), logger, logFormat: 'json' });
    await request(`${origin}/cgi-bin/nothing.sh`);
    await eventually(() => logger.lines.some((line) => line.message.includes('"status":502')), 5000, 'the access line');
    const parsed = logger.lines.map((line) => JSON.parse(line.message) as Line);
    const access = parsed.find((line) => line.status === 502) as Line;
    expect(access).toMatchObject({ level: 30, method: 'GET', exitCode: 3, errorCode: 'ERR_CGI_NO_HEADERS' });
    const failure = parsed.find((line) => line.level === 50) as Line;
    expect(failure).toMatchObject({ reqId: access.reqId, scriptName: '/cgi-bin/nothing.sh' });
    expect(failure.msg).toBe('/cgi-bin/nothing.sh: the script exited with status 3 without printing anything');
  });
});

it("writes text lines even to a pino logger with logFormat 'text'", async () => {
  const lines: Line[] = [];
  const handler = createCgiHandler({
    root: servers.root().root,
    mountPath: '/cgi-bin',
    accessLog: true,
    logger: pinoInto(lines) as never,
    logFormat: 'text',
  });
  const origin = await servers.serve(handler);
  await request(`${origin}/cgi-bin/hello.sh`);
  await eventually(() => lines.length > 0, 5000, 'the access line');
  expect(lines[0]?.msg).toMatch(/^\S+Z INFO \S+ 127\.0\.0\.1 GET \/cgi-bin\/hello\.sh 200 /);
  expect(lines[0]?.reqId).toBeUndefined();
});

it('logs no access line without accessLog', async () => {
  const logger = new MemoryLogger();
  const origin = await servers.serve(createCgiHandler({ root: servers.root().root, mountPath: '/cgi-bin', logger }));
  expect((await request(`${origin}/cgi-bin/hello.sh`)).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(logger.lines).toEqual([]);
});

it('logs the client a trusted proxy names, whether a script ran or not', async () => {
  const logger = new MemoryLogger();
  const options = { root: servers.root().root, mountPath: '/cgi-bin', accessLog: true, trustProxy: ['127.0.0.1'] };
  const origin = await servers.serve(createCgiHandler({ ...options, logger }));
  const headers = { 'X-Forwarded-For': '203.0.113.9' };
  expect((await request(`${origin}/cgi-bin/hello.sh`, { headers })).status).toBe(200);
  expect((await request(`${origin}/cgi-bin/not-executable.sh`, { headers })).status).toBe(500);
  expect((await request(`${origin}/cgi-bin/.env`, { headers })).status).toBe(404);
  const access = /^\S+Z INFO \S+ (\S+) GET (\S+) (\d+) /;
  const accessLines = () => logger.lines.filter((line) => access.test(line.message));
  await eventually(() => accessLines().length === 3, 5000, `three access lines in:\n${logger.text()}`);
  // A script's line comes once it has exited, possibly after the next request's.
  const clients = accessLines().map((line) => access.exec(line.message)?.slice(1) as string[]);
  expect(clients.sort()).toEqual([
    ['203.0.113.9', '/cgi-bin/.env', '404'],
    ['203.0.113.9', '/cgi-bin/hello.sh', '200'],
    ['203.0.113.9', '/cgi-bin/not-executable.sh', '500'],
  ]);
});
