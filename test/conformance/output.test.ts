import { connect, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { json, rawRequest, request } from '../support/http.js';
import { conformance, eventually, expectGenericError } from '../support/suite.js';

conformance('script output (RFC 3875 §6, SPEC §4)', (ctx) => {
  it('uses Status for the status line, reason phrase included', async () => {
    const reply = await request(ctx.url('/cgi-bin/status.sh'));
    expect(reply.status).toBe(418);
    // A runtime that writes its own reason phrase gets the status code right, not the text (see HostQuirks).
    expect(reply.statusText).toBe(ctx.adapter.quirks?.standardReasonPhrase ? "I'm a Teapot" : "I'm a teapot");
    expect(reply.text).toBe('short and stout\n');
    expect(reply.headers.status).toBeUndefined();
  });

  it('sends a short response in one piece: head, body and the chunked end together', async () => {
    // hello.sh writes its head and body, then exits: read before its stdout ends, the response
    // went out in two writes (the terminator on its own) and the client woke up twice.
    // The client may read two writes at once, so the writes are counted where they are made:
    // each call of the connection's _write/_writev is one write(2)/writev(2) on the socket.
    const writes: number[] = [];
    const count = (socket: Socket) => {
      const held = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
      for (const name of ['_write', '_writev'] as const) {
        const original = held[name];
        held[name] = function (this: Socket, ...args: unknown[]) {
          writes.push(1);
          return original.apply(this, args);
        };
      }
    };
    ctx.server.http.once('connection', count);
    const perResponse: number[] = [];
    const pieces = await piecesPerResponse(ctx.server.port, '/cgi-bin/hello.sh', 10, () => {
      perResponse.push(writes.length);
      writes.length = 0;
    });
    expect(pieces.length).toBe(10);
    if (ctx.adapter.quirks?.writesOwnResponse) return; // see HostQuirks
    // The hold is bounded in time (5 ms): on a loaded machine a script may take longer to exit.
    // Before it, every response took two writes.
    expect(perResponse.filter((n) => n === 1).length, `writes per response: ${perResponse}`).toBeGreaterThanOrEqual(5);
    expect(Math.max(...perResponse)).toBeLessThanOrEqual(2);
  });

  it('adds nosniff and invents no Content-Type', async () => {
    const reply = await request(ctx.url('/cgi-bin/status-only.sh'));
    expect(reply.status).toBe(204);
    expect(reply.headers['content-type']).toBeUndefined();
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
  });

  it('sends no body for HEAD, 204 and 304', async () => {
    const head = await rawRequest(
      ctx.server.port,
      'HEAD /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/content-type: text\/plain/i);
    expect(head).not.toContain('hello from sh');
    const notModified = await rawRequest(
      ctx.server.port,
      'GET /cgi-bin/not-modified.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(notModified).toMatch(/^HTTP\/1\.1 304 /);
    expect(notModified).not.toContain('must not be sent');
    const noContent = await rawRequest(
      ctx.server.port,
      'GET /cgi-bin/no-content-body.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(noContent).toMatch(/^HTTP\/1\.1 204 /);
    expect(noContent).not.toMatch(/content-length/i);
    expect(noContent).not.toContain('hello');
  });

  it('sends no body with 205 Reset Content (RFC 9110 §15.3.6)', async () => {
    const reply = await rawRequest(
      ctx.server.port,
      'GET /cgi-bin/reset-content.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 205 /);
    expect(reply.slice(reply.indexOf('\r\n\r\n') + 4)).toBe('');
  });

  it('turns an absolute Location into a 302 client redirect', async () => {
    const reply = await request(ctx.url('/cgi-bin/redirect-abs.sh'));
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('https://example.com/elsewhere');
  });

  it('keeps the Status and the body of a client redirect with a document (§6.2.4)', async () => {
    const see = await request(ctx.url('/cgi-bin/redirect-303.py'), { method: 'POST', body: 'a=1' });
    expect(see.status).toBe(303);
    expect(see.headers.location).toBe('/guestbook');
    expect(see.text).toBe('<a href="/guestbook">see other</a>\n');
    const moved = await request(ctx.url('/cgi-bin/redirect-301.pl'));
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('https://example.com/new');
  });

  it('answers a local redirect inside the server as a fresh GET without the body (§6.2.2)', async () => {
    const reply = await request(ctx.url('/cgi-bin/redirect-local.sh'), {
      method: 'POST',
      body: 'posted=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Kept': 'yes' },
    });
    expect(reply.status).toBe(200);
    expect(reply.text).not.toContain('IGNORED');
    const { env } = json<{ env: Record<string, string> }>(reply);
    expect(env).toMatchObject({
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/cgi-bin/env.py',
      PATH_INFO: '/from-redirect',
      QUERY_STRING: 'via=local',
      REQUEST_URI: '/cgi-bin/env.py/from-redirect?via=local',
      HTTP_X_KEPT: 'yes',
    });
    expect(env.CONTENT_LENGTH).toBeUndefined();
    expect(env.CONTENT_TYPE).toBeUndefined();
  });

  it('stops a local redirect loop after 10 hops with a 502, and no listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const reply = await request(ctx.url('/cgi-bin/redirect-loop.sh'));
      expectGenericError(reply, 502, ctx.root.root);
      expect(ctx.server.logger.text()).toMatch(/redirect-loop\.sh: more than 10 local redirects/);
      // A hop started after the previous one ended takes the slot again: never freed twice (-1).
      await eventually(() => ctx.server.running() === 0, 5000, 'the chain to free its slot exactly once');
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  });

  it('applies every path rule to a local redirect target', async () => {
    const reply = await request(ctx.url('/cgi-bin/redirect-escape.sh'));
    expect(reply.status).toBe(404);
    expect(reply.text).not.toContain('TOP-SECRET');
  });

  it('lets a local redirect reach a route outside the gateway', async () => {
    const reply = await request(ctx.url('/cgi-bin/redirect-outside.sh'));
    expect(reply.status).toBe(200);
    expect(json(reply)).toEqual({ modern: true, method: 'GET', url: '/modern/route?from=cgi' });
  });

  it('hands a local redirect to a non-script URL inside the mount on to the app, as a GET', async () => {
    const reply = await request(ctx.url('/cgi-bin/redirect-inmount.sh'), { method: 'POST', body: 'a=1' });
    expect(json(reply)).toEqual({ modern: true, method: 'GET', url: '/cgi-bin/modern/inside?x=1' });
  });

  it('sends local redirects to the client when localRedirects is off', async () => {
    const server = await ctx.start({ localRedirects: false });
    const reply = await request(`${server.origin}/cgi-bin/redirect-local.sh`);
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('/cgi-bin/env.py/from-redirect?via=local');
  });

  it('forwards every Set-Cookie and repeated header, in order, values intact', async () => {
    const reply = await request(ctx.url('/cgi-bin/cookies.pl'));
    expect(reply.headers['set-cookie']).toEqual([
      'a=1; Path=/; HttpOnly',
      'b=2, with comma; Expires=Wed, 21 Oct 2037 07:28:00 GMT',
      'c=3',
    ]);
    const multi = [];
    for (let i = 0; i < reply.rawHeaders.length; i += 2) {
      if (reply.rawHeaders[i]?.toLowerCase() === 'x-multi') multi.push(reply.rawHeaders[i + 1]);
    }
    // A fetch Headers object joins repeated fields other than Set-Cookie (see HostQuirks).
    expect(multi).toEqual(ctx.adapter.quirks?.joinsRepeatedFields ? ['one, two'] : ['one', 'two']);
  });

  it('accepts LF, CRLF and mixed line ends and keeps the body byte for byte', async () => {
    const reply = await request(ctx.url('/cgi-bin/lf-crlf-mixed.py'));
    expect(reply.headers['x-a']).toBe('1');
    expect(reply.headers['x-b']).toBe('2');
    expect(reply.text).toBe('mixed\r\n\r\nbody keeps its blank lines\n');
  });

  it.each([
    ['a line without a colon', 'bad-header.sh', /malformed header line "This is not a header"/],
    ['an invalid header name', 'bad-name.sh', /invalid header name in "Bad Name: x"/],
    [
      'a CR inside a value (response splitting)',
      'bad-value.sh',
      /control character in header value "X-Split: a\\rSet-Cookie: evil=1"/,
    ],
    ['a list as Content-Length', 'bad-length.sh', /invalid or repeated Content-Length/],
    ['no Content-Type, Status or Location', 'no-type.sh', /no Content-Type, Status or Location/],
    [
      'an HTTP status line from a non-NPH script',
      'http-status-line.sh',
      /an HTTP status line: print "Status: NNN reason"/,
    ],
    ['an nph- script when nph is off', 'nph-hello.sh', /malformed header line "HTTP\/1.1 202 Accepted"/],
    ['no empty line after the headers', 'no-terminator.sh', /no header terminator/],
    ['no output at all', 'nothing.sh', /exited with status 3 without printing anything/],
  ])('answers 502 to %s, forwards nothing and logs why', async (_name, script, logged) => {
    const reply = await request(ctx.url(`/cgi-bin/${script}`));
    expectGenericError(reply, 502, ctx.root.root);
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(reply.headers['x-split']).toBeUndefined();
    const line = ctx.server.logger.lines.find(
      (l) => l.message.includes(`/cgi-bin/${script}:`) && logged.test(l.message),
    );
    expect(line, ctx.server.logger.text()).toBeDefined();
    expect(line?.level).toBe('error');
  });

  it.each(['abc', '99', '1000', '101', '600', '20', '200x'])('answers 502 to Status: %s', async (status) => {
    const reply = await request(ctx.url(`/cgi-bin/bad-status.sh?${status}`));
    expect(reply.status).toBe(502);
    expect(reply.text).not.toContain('SECRET-BODY');
  });

  it('accepts an nph- script status line when nph is on', async () => {
    const server = await ctx.start({ nph: true });
    const reply = await request(`${server.origin}/cgi-bin/nph-hello.sh`);
    expect(reply.status).toBe(202);
    expect(reply.text).toBe('nph body\n');
    expect((await request(`${server.origin}/cgi-bin/hello.sh`)).status).toBe(200);
  });

  it('strips hop-by-hop and X-Sendfile-style headers and never acts on them', async () => {
    const reply = await request(ctx.url('/cgi-bin/hop-by-hop.sh'));
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('body\n');
    expect(reply.headers['x-sendfile']).toBeUndefined();
    expect(reply.headers['x-accel-redirect']).toBeUndefined();
    expect(reply.headers.upgrade).toBeUndefined();
    expect(reply.headers['keep-alive']).not.toBe('timeout=1');
    expect(reply.headers['x-hop-named']).toBeUndefined();
    expect(reply.headers['x-kept']).toBe('yes');
  });

  it('forwards a correct Content-Length and enforces it', async () => {
    const exact = await request(ctx.url('/cgi-bin/exact-length.sh'));
    expect(exact.headers['content-length']).toBe('5');
    expect(exact.text).toBe('hello');
    // More bytes than announced: the extra bytes must never reach the connection as a second response.
    const long = await rawRequest(
      ctx.server.port,
      'GET /cgi-bin/long-length.sh HTTP/1.1\r\nHost: x\r\n\r\nGET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(long).not.toContain('X-Smuggled');
    // Fewer bytes than announced: the client must see a truncated (aborted) response, not a hang.
    await expect(request(ctx.url('/cgi-bin/short-length.sh'))).rejects.toThrow();
  });

  it('keeps a complete response when the script then exits non-zero, and logs the exit', async () => {
    const reply = await request(ctx.url('/cgi-bin/fail-after.sh'));
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('complete\n');
    await eventually(() => /fail-after\.sh: exited with status 7/.test(ctx.server.logger.text()), 5000, 'exit log');
  });

  it('answers 502 to an endless header line or header flood and kills the script', async () => {
    for (const script of ['huge-header.sh', 'header-flood.sh']) {
      const reply = await request(ctx.url(`/cgi-bin/${script}`));
      expect(reply.status, script).toBe(502);
      expect(ctx.server.logger.text()).toMatch(new RegExp(`${script}: the header block is larger than 65536 bytes`));
    }
    await eventually(() => ctx.server.running() === 0, 15_000, 'scripts to be killed');
  });

  it('honours a smaller maxResponseHeaderBytes', async () => {
    const server = await ctx.start({ maxResponseHeaderBytes: 32 });
    expect((await request(`${server.origin}/cgi-bin/cookies.pl`)).status).toBe(502);
    expect((await request(`${server.origin}/cgi-bin/status-only.sh`)).status).toBe(204);
  });

  it('logs stderr line by line with the script name and never sends it', async () => {
    const reply = await request(ctx.url('/cgi-bin/stderr.sh'));
    expect(reply.text).toBe('ok\n');
    await eventually(() => ctx.server.logger.text().includes('second warning'), 5000, 'stderr lines');
    const lines = ctx.server.logger.lines.filter((l) => l.message.includes('/cgi-bin/stderr.sh stderr:'));
    // time, level, request id, then the line as the script wrote it.
    expect(lines.map((l) => l.message.replace(/^\S+Z WARN \S+ /, ''))).toEqual([
      '/cgi-bin/stderr.sh stderr: first warning',
      '/cgi-bin/stderr.sh stderr: second warning',
    ]);
  });

  it('bounds a stderr flood in the log and still answers', async () => {
    const reply = await request(ctx.url('/cgi-bin/stderr-flood.sh'));
    expect(reply.text).toBe('survived\n');
    await eventually(() => ctx.server.logger.text().includes('stderr truncated'), 5000, 'truncation note');
    const logged = ctx.server.logger.lines
      .filter((l) => l.message.includes('stderr-flood.sh stderr'))
      .reduce((sum, l) => sum + l.message.length, 0);
    expect(logged).toBeLessThan(64 * 1024);
  });
});

/** Sends `count` GETs one after another on one kept-alive connection; how many reads each chunked response took. */
function piecesPerResponse(port: number, path: string, count: number, onResponse = () => {}): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const pieces: number[] = [];
    let text = '';
    let reads = 0;
    const ask = () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    socket.on('connect', ask);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      reads++;
      if (!text.endsWith('\r\n0\r\n\r\n')) return;
      pieces.push(reads);
      onResponse();
      text = '';
      reads = 0;
      if (pieces.length < count) ask();
      else {
        socket.destroy();
        resolve(pieces);
      }
    });
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no complete response after ${pieces.length}`)));
  });
}
