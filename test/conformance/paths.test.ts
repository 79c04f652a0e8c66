import { expect, it } from 'vitest';
import { rawRequest, request } from '../support/http.js';
import { conformance } from '../support/suite.js';

const SECRETS = ['TOP-SECRET-DATA-FILE', 'SOURCE-OF-', 'HIDDEN-SCRIPT-RAN', 'OUTSIDE-SCRIPT-RAN', 'CRLF-SOURCE', '#!/'];

function expectNothingLeaked(text: string, root: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  expect(text).not.toContain(root);
}

conformance('path resolution (SPEC §1)', (ctx) => {
  it('finds the script by walking segments; the rest is PATH_INFO', async () => {
    const reply = await request(ctx.url('/cgi-bin/hello.sh/extra/path'));
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('hello from sh\n');
  });

  it.each([
    ['raw ..', '/cgi-bin/../cgi-bin/secret.txt'],
    ['encoded ..', '/cgi-bin/%2e%2e/cgi-bin/hello.sh'],
    ['upper-case encoded ..', '/cgi-bin/%2E%2E/x'],
    ['half-encoded ..', '/cgi-bin/.%2e/x'],
    ['dot segment', '/cgi-bin/./hello.sh'],
    ['encoded slash', '/cgi-bin/sub%2fdeep.pl'],
    ['encoded slash (upper)', '/cgi-bin/sub%2Fdeep.pl'],
    ['encoded backslash', '/cgi-bin/sub%5cdeep.pl'],
    ['raw backslash', '/cgi-bin/sub\\deep.pl'],
    ['encoded NUL', '/cgi-bin/hello.sh%00.txt'],
    ['hidden file', '/cgi-bin/.hidden.sh'],
    ['encoded hidden file', '/cgi-bin/%2ehidden.sh'],
    ['trailing dot', '/cgi-bin/hello.sh.'],
    ['trailing space', '/cgi-bin/hello.sh%20'],
    ['double slash before the script', '/cgi-bin//hello.sh'],
    ['NTFS stream name', '/cgi-bin/hello.sh::$DATA'],
  ])('refuses %s with 404 and runs nothing', async (_name, path) => {
    const before = ctx.server.events.filter((e) => e.type === 'spawn').length;
    const reply = await request(ctx.url(path));
    // A runtime may refuse a backslash itself, before any handler (see HostQuirks).
    const runtime = ctx.adapter.quirks?.refusesBackslashTarget && path.includes('\\');
    expect(reply.status).toBe(runtime ? 400 : 404);
    expectNothingLeaked(reply.text, ctx.root.root);
    expect(ctx.server.events.filter((e) => e.type === 'spawn').length).toBe(before);
  });

  it.each([
    ['bad percent-encoding', '/cgi-bin/hello.sh/%zz'],
    ['overlong UTF-8 dot', '/cgi-bin/%c0%ae%c0%ae/secret.txt'],
    ['lone continuation byte', '/cgi-bin/%80'],
  ])('answers 400 to %s', async (_name, path) => {
    const reply = await request(ctx.url(path));
    expect(reply.status).toBe(400);
    expectNothingLeaked(reply.text, ctx.root.root);
  });

  it('refuses a raw traversal sent on the wire', async () => {
    const reply = await rawRequest(
      ctx.server.port,
      'GET /cgi-bin/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 404 /);
    expect(reply).not.toContain('root:');
  });

  it('matches the mount on whole segments only', async () => {
    for (const path of ['/cgi-binX/hello.sh', '/cgi-bin../hello.sh', '/cgi-bin.sh', '/CGI-BIN/hello.sh']) {
      const reply = await request(ctx.url(path));
      expect(reply.text, path).toBe('app 404\n');
    }
  });

  it('falls through when no script matches', async () => {
    const reply = await request(ctx.url('/cgi-bin/no-such-script.sh'));
    expect(reply.text).toBe('app 404\n');
    const modern = await request(ctx.url('/modern/page'));
    expect(modern.status).toBe(200);
  });

  it('refuses symlinks whose target leaves the root, file or directory', async () => {
    for (const path of ['/cgi-bin/link-out.sh', '/cgi-bin/link-dir/evil.sh']) {
      const reply = await request(ctx.url(path));
      expect(reply.status, path).toBe(404);
      expectNothingLeaked(reply.text, ctx.root.root);
    }
    expect((await request(ctx.url('/cgi-bin/link-in.sh'))).text).toBe('hello from sh\n');
  });

  it('never serves a data file or a non-executable script', async () => {
    for (const path of ['/cgi-bin/secret.txt', '/cgi-bin/not-executable.sh', '/cgi-bin/secret.txt/x']) {
      const reply = await request(ctx.url(path));
      expect(reply.status, path).toBe(500);
      expectNothingLeaked(reply.text, ctx.root.root);
    }
    expect(ctx.server.logger.text()).toMatch(/not-executable\.sh: the script is not executable; run "chmod \+x"/);
  });

  it('never lists a directory', async () => {
    for (const path of ['/cgi-bin/', '/cgi-bin', '/cgi-bin/sub/', '/cgi-bin/sub']) {
      const reply = await request(ctx.url(path));
      expect(reply.text, path).toBe('app 404\n');
    }
  });

  it('runs an index script for a directory URL, redirecting to the trailing slash', async () => {
    const server = await ctx.start({ index: ['index.py'] });
    const index = await request(`${server.origin}/cgi-bin/app/`);
    expect(index.text).toBe('index /cgi-bin/app/index.py\n');
    const bare = await request(`${server.origin}/cgi-bin/app?x=1`);
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/cgi-bin/app/?x=1');
    expect((await request(`${server.origin}/cgi-bin/sub/`)).text).toBe('app 404\n');
  });

  it('refuses .bat and .cmd scripts', async () => {
    for (const path of ['/cgi-bin/run.bat', '/cgi-bin/run.cmd']) {
      const reply = await request(ctx.url(path));
      expect(reply.status, path).toBe(403);
      expect(reply.text).not.toContain('BATCH');
    }
  });

  it('runs a file through its configured interpreter, executable bit or not', async () => {
    const server = await ctx.start({ interpreters: { '.py': 'python3' } });
    const reply = await request(`${server.origin}/cgi-bin/interp.py`);
    expect(reply.text).toBe('run by interpreter mapping interp.py\n');
  });

  it('decodes names with spaces and runs files without an extension', async () => {
    expect((await request(ctx.url('/cgi-bin/with%20space.sh'))).text).toBe('space ok /cgi-bin/with space.sh\n');
    expect((await request(ctx.url('/cgi-bin/noext'))).text).toBe('no extension\n');
  });
});
