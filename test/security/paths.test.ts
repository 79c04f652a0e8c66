import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect, it } from 'vitest';
import { securityGroup } from '../support/security.js';

securityGroup('security: paths (traversal, source disclosure)', (ctx) => {
  it.each([
    ['CVE-2021-41773 (Apache 2.4.49): encoded dot segment', '/cgi-bin/.%2e/.%2e/secret.txt'],
    ['CVE-2021-41773: fully encoded ..', '/cgi-bin/%2e%2e/cgi-bin/secret.txt'],
    ['CVE-2021-41773: upper-case encoding', '/cgi-bin/%2E%2E/secret.txt'],
    ['CVE-2021-41773: trailing encoded dot', '/cgi-bin/%2e./secret.txt'],
    ['CVE-2021-41773: .. before a script name', '/cgi-bin/sub/%2e%2e/hello.sh'],
    ['generic traversal: ./ segment', '/cgi-bin/./hello.sh'],
    ['generic traversal: ..%2f', '/cgi-bin/..%2fsecret.txt'],
    ['IIS-style: ..%5c', '/cgi-bin/..%5csecret.txt'],
    ['encoded slash inside a segment', '/cgi-bin/sub%2fdeep.pl'],
    ['encoded backslash inside a segment', '/cgi-bin/sub%5Cdeep.pl'],
    ['encoded absolute path', '/cgi-bin/%2fetc%2fpasswd'],
    ['NUL truncation (CWE-158): script%00.txt', '/cgi-bin/hello.sh%00.txt'],
    ['NUL truncation: data file%00', '/cgi-bin/secret.txt%00'],
    ['Windows trailing dot alias', '/cgi-bin/hello.sh.'],
    ['Windows trailing space alias', '/cgi-bin/hello.sh%20'],
    ['Windows trailing encoded dot', '/cgi-bin/hello.sh%2e'],
    ['hidden script', '/cgi-bin/.hidden.sh'],
    ['hidden script, encoded dot', '/cgi-bin/%2ehidden.sh'],
    ['.git directory (source disclosure)', '/cgi-bin/.git/config'],
    ['.env file (secrets)', '/cgi-bin/.env'],
    ['empty segment before the script', '/cgi-bin//hello.sh'],
    ['control character in a segment (log forging)', '/cgi-bin/hello%0d%0aX.sh'],
  ])('%s: 404, nothing runs', async (_incident, path) => {
    const before = ctx.spawned();
    const reply = await ctx.probe(path);
    expect(reply.status).toBe(404);
    expect(ctx.spawned()).toBe(before);
  });

  it.each([
    ['CVE-2021-42013 (Apache 2.4.50): double-encoded %%32%65', '/cgi-bin/%%32%65%%32%65/secret.txt'],
    ['CVE-2000-0884 (IIS): overlong UTF-8 dot', '/cgi-bin/%c0%ae%c0%ae/secret.txt'],
    ['overlong UTF-8 slash', '/cgi-bin/..%c0%afsecret.txt'],
    ['three-byte overlong dot', '/cgi-bin/%e0%80%ae%e0%80%ae/secret.txt'],
    ['truncated percent escape', '/cgi-bin/hello.sh%2'],
  ])('%s: 400, nothing runs', async (_incident, path) => {
    const before = ctx.spawned();
    expect((await ctx.probe(path)).status).toBe(400);
    expect(ctx.spawned()).toBe(before);
  });

  it('double encoding is decoded once only: %252e%252e names a file called "%2e%2e"', async () => {
    const reply = await ctx.probe('/cgi-bin/%252e%252e/secret.txt');
    expect(reply.text).toBe('app 404\n');
  });

  it('raw ../ on the wire (clients normalise it, attackers do not)', async () => {
    const reply = await ctx.raw('GET /cgi-bin/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 404 /);
    expect(reply).not.toContain('root:x:');
  });

  it('raw backslash traversal on the wire', async () => {
    const reply = await ctx.raw('GET /cgi-bin/..\\..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 (400|404) /);
  });

  it.each([['/cgi-binX/hello.sh'], ['/cgi-bin../hello.sh'], ['/cgi-bin.sh'], ['/cgi-bin%2fhello.sh']])(
    'mount prefix only on a segment boundary: %s falls through',
    async (path) => {
      const before = ctx.spawned();
      expect((await ctx.probe(path)).text).toBe('app 404\n');
      expect(ctx.spawned()).toBe(before);
    },
  );

  it('a symlink swapped after a request cannot smuggle in a file outside the root (cache poisoning)', async () => {
    const dir = join(ctx.root.root, `swap-${ctx.adapter.name.replace(/\W/g, '')}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'real.sh'), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\ninside\\n"\n', {
      mode: 0o755,
    });
    symlinkSync('real.sh', join(dir, 's.sh'));
    const url = `/cgi-bin/${basename(dir)}/s.sh`;
    expect((await ctx.probe(url)).text).toBe('inside\n');
    // Same inode under another name; the old name now points outside the root.
    renameSync(join(dir, 'real.sh'), join(dir, 'other.sh'));
    symlinkSync(join(ctx.root.outside, 'evil.sh'), join(dir, 'real.sh'));
    rmSync(join(dir, 's.sh'));
    symlinkSync('other.sh', join(dir, 's.sh'));
    expect((await ctx.probe(url)).text).toBe('inside\n');
    expect((await ctx.probe(`/cgi-bin/${basename(dir)}/real.sh`)).status).toBe(404);
  });

  it.each([
    ['a script moved out of the root and linked back in', 'file'],
    ['a directory moved out of the root and linked back in', 'dir'],
  ])('%s after it ran: 404, it never runs again (no cached real path)', async (_name, kind) => {
    const tag = `${kind}-${ctx.adapter.name.replace(/\W/g, '')}`;
    const dir = join(ctx.root.root, `moved-${tag}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'm.sh'), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nMOVED-SCRIPT-RAN\\n"\n', {
      mode: 0o755,
    });
    const url = `/cgi-bin/${basename(dir)}/m.sh`;
    expect((await ctx.probe(url)).text).toBe('MOVED-SCRIPT-RAN\n');
    // The same inode, now outside the root, reached through a symlink inside it.
    if (kind === 'file') {
      const away = join(ctx.root.outside, `m-${tag}.sh`);
      renameSync(join(dir, 'm.sh'), away);
      symlinkSync(away, join(dir, 'm.sh'));
    } else {
      const away = join(ctx.root.outside, `moved-${tag}`);
      renameSync(dir, away);
      symlinkSync(away, dir);
    }
    const reply = await ctx.probe(url);
    expect(reply.status).toBe(404);
    expect(reply.text).not.toContain('MOVED-SCRIPT-RAN');
  });

  it.each([
    ['symlinked file leaving the root', '/cgi-bin/link-out.sh'],
    ['symlinked directory leaving the root', '/cgi-bin/link-dir/evil.sh'],
  ])('%s: 404, the outside script never runs', async (_name, path) => {
    expect((await ctx.probe(path)).status).toBe(404);
  });

  it.each([
    ['CVE-2011-1015 (CGIHTTPServer): data file', '/cgi-bin/secret.txt', 500],
    ['data file with PATH_INFO', '/cgi-bin/secret.txt/x', 500],
    ['CVE-2014-4650 (CGIHTTPServer): non-executable script', '/cgi-bin/not-executable.sh', 500],
    ['missing interpreter: never falls back to the source', '/cgi-bin/missing-interpreter.sh', 502],
    ['CRLF shebang: never falls back to the source', '/cgi-bin/crlf.sh', 502],
    ['no shebang: never handed to /bin/sh', '/cgi-bin/no-shebang.sh', 502],
    ['BatBadBut (CVE-2024-27980): .bat', '/cgi-bin/run.bat', 403],
    ['BatBadBut: .cmd', '/cgi-bin/run.cmd', 403],
  ])('%s: never served', async (_incident, path, status) => {
    expect((await ctx.probe(path)).status).toBe(status);
  });

  it('a configured interpreter that is missing never falls back to the source', async () => {
    const server = await ctx.start({ interpreters: { '.py': 'cgibridge-no-python' } });
    expect((await ctx.probe('/cgi-bin/interp.py', {}, server.origin)).status).toBe(502);
  });

  it.each(['/cgi-bin/', '/cgi-bin', '/cgi-bin/sub/', '/cgi-bin/app/'])('never lists a directory: %s', async (path) => {
    const reply = await ctx.probe(path);
    expect(reply.text).not.toMatch(/hello\.sh|deep\.pl|index\.py/);
  });
});
