import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { parseDuration, parseSize } from 'cgibridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { makeScriptRoot, type ScriptRoot } from '../support/fixtures.js';
import { json, request } from '../support/http.js';
import { alive, eventually, readPids } from '../support/suite.js';

let root: ScriptRoot;
beforeAll(() => {
  root = makeScriptRoot();
});
afterAll(() => root.cleanup());

describe('cgibridge serve', () => {
  it('prints its URL, serves sh, Python and Perl scripts and logs one line per request', async () => {
    const cli = await startCli([root.root]);
    try {
      expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cgi-bin\/$/);
      for (const [script, text] of [
        ['hello.sh', 'hello from sh\n'],
        ['hello.py', 'hello from python\n'],
        ['hello.pl', 'hello from perl\n'],
      ]) {
        expect((await request(`${cli.url}${script}`)).text).toBe(text);
      }
      expect((await request(`${cli.origin}/elsewhere`)).status).toBe(404);
      expect((await request(`${cli.url}nothing.sh`)).status).toBe(502);
      // The line is written once the script has been reaped, just after the response.
      await eventually(() => cli.output().includes('GET /cgi-bin/nothing.sh 502'), 5000, 'log line');
      expect(cli.output()).toContain('GET /elsewhere 404');
      // time, level, request id, client, method, target, status, duration, exit status, bytes in and out.
      const line = /^\S+Z INFO (\S+) 127\.0\.0\.1 GET \/cgi-bin\/hello\.sh 200 [\d.]+ms exit=0 in=0 out=14$/m;
      expect(cli.output()).toMatch(line);
      const failed =
        /^\S+Z INFO (\S+) 127\.0\.0\.1 GET \/cgi-bin\/nothing\.sh 502 [\d.]+ms exit=3 in=0 out=0 error=ERR_CGI_NO_HEADERS$/m;
      const id = failed.exec(cli.output())?.[1];
      // The failure's own line carries the same request id.
      expect(cli.output()).toMatch(
        new RegExp(`^\\S+Z ERROR ${id} /cgi-bin/nothing\\.sh: the script exited with status 3`, 'm'),
      );
    } finally {
      await cli.stop();
    }
  });

  it('applies its flags', async () => {
    const cli = await startCli([
      root.root,
      '--mount',
      '/legacy',
      '--timeout',
      '400ms',
      '--kill-grace',
      '100ms',
      '--max-request-body',
      '1kb',
      '--env',
      'APP_MODE=cli',
      '--env',
      'OTHER=a=b',
      '--interpreter',
      '.py=python3 -B',
      '--command-args',
      '--quiet',
    ]);
    try {
      const { env, argv } = json<{ env: Record<string, string>; argv: string[] }>(
        await request(`${cli.origin}/legacy/env.py?x+y`),
      );
      expect(env.APP_MODE).toBe('cli');
      expect(env.OTHER).toBe('a=b');
      expect(env.SCRIPT_NAME).toBe('/legacy/env.py');
      expect(argv).toEqual(['x', 'y']);
      expect((await request(`${cli.origin}/legacy/interp.py`)).text).toBe('run by interpreter mapping interp.py\n');
      const file = join(root.scratch, 'cli-timeout');
      expect((await request(`${cli.origin}/legacy/sleep.sh?${file}`)).status).toBe(504);
      const big = await request(`${cli.origin}/legacy/count.sh`, { method: 'POST', body: 'x'.repeat(1025) });
      expect(big.status).toBe(413);
      expect(cli.output()).not.toMatch(/GET \/legacy/);
    } finally {
      await cli.stop();
    }
  });

  it('writes pino-compatible JSON lines with --log-format json, every line to stdout', async () => {
    const cli = await startCli([root.root, '--log-format', 'json']);
    try {
      await request(`${cli.url}stderr.sh`);
      await eventually(() => cli.output().includes('"status":200'), 5000, 'the access line');
      const lines = cli
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const access = lines.find((line) => line.status === 200);
      expect(access).toMatchObject({ level: 30, method: 'GET', target: '/cgi-bin/stderr.sh', client: '127.0.0.1' });
      expect(typeof access?.time).toBe('number');
      expect(lines.filter((line) => line.reqId === access?.reqId && line.level === 40).map((line) => line.msg)).toEqual(
        ['/cgi-bin/stderr.sh stderr: first warning', '/cgi-bin/stderr.sh stderr: second warning'],
      );
      expect(cli.stderr()).toBe('');
    } finally {
      await cli.stop();
    }
  });

  it('shows the development error page with --dev, and only then', async () => {
    const dev = await startCli([root.root, '--dev', '--quiet']);
    const plain = await startCli([root.root, '--quiet']);
    try {
      const page = await request(`${dev.url}nothing.sh`, { headers: { Accept: 'text/html' } });
      expect(page.status).toBe(502);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.text).toContain('the script exited with status 3 without printing anything');
      const generic = await request(`${plain.url}nothing.sh`, { headers: { Accept: 'text/html' } });
      expect(generic.text).toBe('502 Bad Gateway\n');
    } finally {
      await Promise.all([dev.stop(), plain.stop()]);
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('on %s stops, kills running scripts and exits 0', async (signal) => {
    const cli = await startCli([root.root]);
    const file = join(root.scratch, `signal-${signal}`);
    const pending = request(`${cli.url}sleep.sh?${file}`).catch(() => undefined);
    const pids = await readPids(file);
    cli.proc.kill(signal);
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    await eventually(() => pids.every((pid) => !alive(pid)), 5000, 'scripts killed on shutdown');
    await pending;
    expect(cli.output()).toMatch(new RegExp(`${signal}: stopping`));
  });

  it('on SIGTERM aborts a response still streaming: a killed script never looks complete', async () => {
    const cli = await startCli([root.root]);
    const file = join(root.scratch, 'streaming-at-shutdown');
    // Headers and a first line, then the script waits: no Content-Length, so only an aborted
    // connection tells the client the body is not all there.
    const reply = request(`${cli.url}sleep-after-headers.sh?${file}`);
    reply.catch(() => {});
    await readPids(file);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    await expect(reply).rejects.toThrow();
  });

  it('gives scripts only stdin, stdout and stderr, even when it inherited other descriptors', async () => {
    // fd 40 and 41 are inherited without close-on-exec, as from a careless parent process
    // (Node itself marks 3 to 16 close-on-exec at start, but nothing above).
    const cli = await startCli([root.root], 'exec 40</dev/null 41</dev/null');
    try {
      const lines = (await request(`${cli.url}fds.py`)).text.trim().split('\n');
      const fds = lines.map((line) => line.split(' ')).filter(([, target]) => !target?.startsWith('/proc/'));
      expect(fds.map(([fd]) => fd)).toEqual(['0', '1', '2']);
    } finally {
      await cli.stop();
    }
  });

  it('closes inherited descriptors only, not the one Node reads its extra CA certificates through', async () => {
    // Node 22 and 24 read NODE_EXTRA_CA_CERTS on a thread of their own, without close-on-exec,
    // once node:tls loads. A FIFO holds that read open for a second while the CLI starts, as a
    // loaded machine sometimes did: closed under Node, the certificates failed to load ("Ignoring
    // extra certs") and Node later closed whatever had reused the number, the listener included.
    const fifo = join(root.scratch, `extra-ca-${process.pid}.pem`);
    execFileSync('mkfifo', [fifo]);
    const starting = startCli([root.root], `export NODE_EXTRA_CA_CERTS=${fifo}`);
    const writer = await open(fifo, 'w');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await writer.writeFile(rootCertificates[0] as string);
    await writer.close();
    const cli = await starting;
    try {
      expect((await request(`${cli.url}hello.sh`)).text).toBe('hello from sh\n');
    } finally {
      await cli.stop();
    }
    expect(cli.output()).not.toMatch(/Ignoring extra certs/);
  });
});

describe('cgibridge serve --workers', () => {
  it('serves from every worker and stops them all on SIGTERM', async () => {
    const cli = await startCli([root.root, '--workers', '2', '--quiet']);
    const servers = new Set<string>();
    for (let i = 0; i < 40 && servers.size < 2; i++) servers.add((await request(`${cli.url}ppid.sh`)).text.trim());
    expect(servers.size).toBe(2);
    expect(cli.output()).toMatch(/\(2 workers\)/);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    for (const pid of servers) await eventually(() => !alive(Number(pid)), 5000, `worker ${pid} to exit`);
  });
});

describe('cgibridge serve at its open-file limit', () => {
  it('stays up, keeps serving and leaks no descriptors when floods exhaust them', async () => {
    const cli = await startCli([root.root, '--timeout', '1s', '--kill-grace', '100ms', '--quiet'], 'ulimit -n 60');
    const descriptors = () => readdirSync(`/proc/${cli.proc.pid}/fd`).length;
    try {
      await eventually(
        () => /open-file limit 60: at most \d+ scripts and \d+ connections/.test(cli.output()),
        5000,
        'warning',
      );
      expect((await request(`${cli.url}hello.sh`)).status).toBe(200);
      const before = descriptors();
      for (let round = 0; round < 5; round++) {
        const outcomes = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            request(`${cli.url}sleep.sh?${join(root.scratch, `flood-${round}-${i}`)}`).then(
              (reply) => reply.status,
              (error: NodeJS.ErrnoException) => error.code,
            ),
          ),
        );
        // Answered (timed out or refused for capacity) or, past the connection cap, reset; nothing else.
        for (const outcome of outcomes) expect([504, 503, 'ECONNRESET', 'EPIPE']).toContain(outcome);
        // Until the server has seen the flood's connections close, it may still be at its cap and reset one.
        const served = () =>
          request(`${cli.url}hello.sh`).then(
            (reply) => reply.status === 200,
            () => false,
          );
        await eventually(served, 5000, 'recovery');
      }
      expect(cli.proc.exitCode).toBeNull();
      await eventually(() => descriptors() <= before, 5000, `descriptors back to ${before}`);
    } finally {
      await cli.stop();
    }
  });
});

describe('cgibridge usage', () => {
  it('describes every flag in --help', () => {
    const top = runCli(['--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/Usage: cgibridge serve <dir>/);
    const serve = runCli(['serve', '--help']);
    expect(serve.status).toBe(0);
    for (const flag of [
      '--port',
      '--host',
      '--workers',
      '--mount',
      '--timeout',
      '--kill-grace',
      '--max-concurrent',
      '--max-request-body',
      '--chunked-requests',
      '--env',
      '--inherit-env',
      '--interpreter',
      '--index',
      '--trust-proxy',
      '--document-root',
      '--pass-authorization',
      '--command-args',
      '--nph',
      '--quiet',
    ]) {
      expect(serve.stdout, flag).toContain(`  ${flag}`);
    }
  });

  it.each([
    [['serve', '.', '--bogus'], /^cgibridge: Unknown option '--bogus'\n/],
    [
      ['serve', '.', '--timeout', '5x'],
      /^cgibridge: --timeout must be a duration like 500ms, 10s or 2m \(got "5x"\)\n/,
    ],
    [['serve', '.', '--kill-grace', 'soon'], /^cgibridge: --kill-grace must be a duration/],
    [['serve', '.', '--max-request-body', '10xb'], /^cgibridge: --max-request-body must be a size like 512kb/],
    [['serve', '.', '--max-concurrent', '0'], /^cgibridge: --max-concurrent must be a whole number >= 1/],
    [['serve', '.', '--port', 'http'], /^cgibridge: --port must be a port number/],
    [['serve', '.', '--env', 'NOVALUE'], /^cgibridge: --env must look like KEY=VALUE/],
    [['serve', '.', '--interpreter', 'py=python3'], /^cgibridge: --interpreter must look like \.ext=command/],
    [['serve', '.', '--chunked-requests', 'drop'], /^cgibridge: --chunked-requests must be buffer, stream or reject/],
    [['serve'], /^cgibridge: serve needs the directory of scripts/],
    [['serve', '.', '--config', 'site.json'], /^cgibridge: serve takes <dir>\/--script or --config <file>, not both/],
    [['serve', '--script', 'x.sh', '--config', 'site.json'], /^cgibridge: serve takes <dir>\/--script or --config/],
    [['launch', '.'], /^cgibridge: unknown command "launch"/],
    [[], /^cgibridge: missing command/],
  ])('exits 2 with a one-line message and the usage for %j', (args, message) => {
    const result = runCli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: cgibridge serve <dir>');
    expect(result.stderr.split('\n')[0]?.length).toBeGreaterThan(10);
  });

  it.each([
    [['serve', '/no/such/dir'], /^cgibridge: <dir> must be an existing directory \(got "\/no\/such\/dir"\)\n$/],
    [['serve', '.', '--mount', 'x'], /^cgibridge: --mount must be a URL path starting with "\/"/],
    [['serve', '.', '--trust-proxy', 'proxy.local'], /^cgibridge: --trust-proxy must be/],
  ])('exits 2 naming the flag for a value the gateway refuses: %j', (args, message) => {
    const result = runCli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('parses durations and sizes', () => {
    expect(parseDuration('--timeout', '500ms')).toBe(500);
    expect(parseDuration('--timeout', '10s')).toBe(10_000);
    expect(parseDuration('--timeout', '2m')).toBe(120_000);
    expect(parseDuration('--timeout', '1.5s')).toBe(1500);
    expect(parseDuration('--timeout', '250')).toBe(250);
    expect(parseSize('--max-request-body', '512kb')).toBe(512 * 1024);
    expect(parseSize('--max-request-body', '10mb')).toBe(10 * 1024 * 1024);
    expect(parseSize('--max-request-body', '1gb')).toBe(1024 ** 3);
    expect(parseSize('--max-request-body', '100')).toBe(100);
    expect(parseSize('--max-request-body', 'unlimited')).toBe(Number.POSITIVE_INFINITY);
    expect(() => parseDuration('--timeout', '0s')).toThrow(/at least 1ms/);
    expect(() => parseSize('--max-request-body', '-1mb')).toThrow(/must be a size/);
  });
});
