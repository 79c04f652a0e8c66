import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCli, startCli } from '../support/cli.js';
import { makeScriptRoot, type ScriptRoot } from '../support/fixtures.js';
import { request } from '../support/http.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/classic-cgi-bin/', import.meta.url));

/** The example's own start command, so the test runs exactly what `npm start` runs. */
function startArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(EXAMPLE, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [bin, command, dir, ...rest] = pkg.scripts.start.split(' ');
  expect([bin, command, dir]).toEqual(['cgibridge', 'serve', 'cgi-bin']);
  return [join(EXAMPLE, 'cgi-bin'), ...rest];
}

describe('examples/classic-cgi-bin', () => {
  let cli: RunningCli;
  let scratch: ScriptRoot;

  beforeAll(async () => {
    scratch = makeScriptRoot();
    cli = await startCli([...startArgs(), '--env', `GUESTBOOK_FILE=${join(scratch.scratch, 'guestbook.txt')}`]);
  });
  afterAll(async () => {
    await cli?.stop();
    scratch?.cleanup();
  });

  it('sends the site root to the menu, which links every script', async () => {
    const root = await request(`${cli.origin}/`);
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/cgi-bin/');
    const menu = await request(cli.url);
    expect(menu.status).toBe(200);
    for (const link of [
      '/cgi-bin/hello.sh/some/path?a=1',
      '/cgi-bin/guestbook.py',
      '/cgi-bin/env.pl',
      '/cgi-bin/today.sh',
    ]) {
      expect(menu.text).toContain(`href="${link}"`);
    }
  });

  it('runs the shell script with PATH_INFO and query', async () => {
    const reply = await request(`${cli.url}hello.sh/some/path?a=1`);
    expect(reply.text).toBe('Hello from a shell script.\nPATH_INFO=/some/path\nQUERY_STRING=a=1\n');
  });

  it('posts to the Python guestbook, gets a 303 and sees the entry', async () => {
    const post = await request(`${cli.url}guestbook.py`, {
      method: 'POST',
      body: 'name=Ada&message=%3Cb%3Ehello%3C%2Fb%3E+from+1843',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status).toBe(303);
    expect(post.headers.location).toBe('/cgi-bin/guestbook.py');
    const list = await request(`${cli.origin}${post.headers.location}`);
    expect(list.text).toContain('<li><b>Ada</b>: &lt;b&gt;hello&lt;/b&gt; from 1843</li>');
  });

  it('shows the CGI environment from Perl, escaped', async () => {
    const reply = await request(`${cli.url}env.pl`, { headers: { 'X-Demo': '<script>' } });
    expect(reply.text).toContain('<tr><th>GATEWAY_INTERFACE</th><td>CGI/1.1</td></tr>');
    expect(reply.text).toContain('<tr><th>HTTP_X_DEMO</th><td>&lt;script&gt;</td></tr>');
  });

  it('follows the local redirect inside the server', async () => {
    const reply = await request(`${cli.url}today.sh`);
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(/^Hello from a shell script\.\nPATH_INFO=\/today\nQUERY_STRING=\d{4}-\d\d-\d\d\n$/);
  });
});
