import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';
import { makeScriptRoot, type ScriptRoot } from '../support/fixtures.js';
import { json, request } from '../support/http.js';
import { eventually } from '../support/suite.js';

let root: ScriptRoot;
let site: string;
beforeAll(() => {
  root = makeScriptRoot();
  site = join(root.scratch, 'htdocs');
  mkdirSync(join(site, 'docs'), { recursive: true });
  writeFileSync(join(site, 'index.html'), '<h1>legacy home</h1>\n');
  writeFileSync(join(site, 'docs', 'index.html'), '<p>docs</p>\n');
  writeFileSync(join(site, 'style.css'), 'body{}\n');
  writeFileSync(join(site, '.htpasswd'), 'admin:TOP-SECRET-DATA-FILE\n');
  writeFileSync(join(site, 'tool.sh'), '#!/bin/sh\necho SOURCE-OF-TOOL\n', { mode: 0o755 });
});
afterAll(() => root.cleanup());

describe('cgibridge serve: a whole legacy site', () => {
  it('--static serves files before the scripts, confined, never a script or a hidden file', async () => {
    const cli = await startCli([root.root, '--static', site, '--quiet']);
    try {
      const home = await request(`${cli.origin}/`);
      expect(home.text).toBe('<h1>legacy home</h1>\n');
      expect(home.headers['content-type']).toBe('text/html; charset=utf-8');
      expect((await request(`${cli.origin}/style.css`)).headers['content-type']).toBe('text/css; charset=utf-8');
      const docs = await request(`${cli.origin}/docs`);
      expect(docs.status).toBe(301);
      expect(docs.headers.location).toBe('/docs/');
      expect((await request(`${cli.origin}/docs/`)).text).toBe('<p>docs</p>\n');
      const since = { 'If-Modified-Since': new Date(Date.now() + 60_000).toUTCString() };
      expect((await request(`${cli.origin}/style.css`, { headers: since })).status).toBe(304);
      for (const path of ['/.htpasswd', '/tool.sh', '/%2e%2e/cgi-bin/hello.sh', '/docs/..%2f..%2fetc/passwd']) {
        const reply = await request(`${cli.origin}${path}`);
        expect(reply.status, path).toBe(404);
        expect(reply.text).not.toMatch(/TOP-SECRET|SOURCE-OF-TOOL|root:/);
      }
      expect((await request(`${cli.url}hello.sh`)).text).toBe('hello from sh\n');
      // PATH_TRANSLATED maps into the static directory (RFC 3875 4.1.6).
      const { env } = json<{ env: Record<string, string> }>(await request(`${cli.url}env.py/docs/index.html`));
      expect(env.PATH_TRANSLATED).toBe(`${site}/docs/index.html`);
      expect(env.DOCUMENT_ROOT).toBe(site);
    } finally {
      await cli.stop();
    }
  });

  it('never serves a script root as static files, even when --static points into it', async () => {
    const cli = await startCli([root.root, '--static', root.root, '--quiet']);
    try {
      expect((await request(`${cli.origin}/secret.txt`)).status).toBe(404);
      expect((await request(`${cli.origin}/hello.sh`)).text).not.toContain('#!/');
    } finally {
      await cli.stop();
    }
  });

  it('--script serves one front controller for every URL under the mount', async () => {
    const cli = await startCli(['--script', join(root.root, 'env.py'), '--mount', '/app', '--quiet']);
    try {
      const { env } = json<{ env: Record<string, string> }>(await request(`${cli.origin}/app/users/42?tab=1`));
      expect(env).toMatchObject({ SCRIPT_NAME: '/app', PATH_INFO: '/users/42', QUERY_STRING: 'tab=1' });
    } finally {
      await cli.stop();
    }
  });

  it('--config reads the options by their own names: several mounts, durations, per-path settings', async () => {
    const file = join(root.scratch, 'cgibridge.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        mounts: [
          {
            root: root.root,
            mountPath: '/cgi-bin',
            timeout: '2s',
            env: { SITE: 'legacy' },
            overrides: [
              { match: 'sub/**', env: { AREA: 'sub' } },
              { match: 'sleep.sh', timeout: '300ms' },
            ],
          },
          { script: join(root.root, 'env.py'), mountPath: '/app' },
        ],
        static: 'htdocs',
      }),
    );
    const cli = await startCli(['--config', file]);
    try {
      const top = json<{ env: Record<string, string> }>(await request(`${cli.url}env.py`)).env;
      expect(top.SITE).toBe('legacy');
      expect(top.AREA).toBeUndefined();
      expect((await request(`${cli.url}sub/area.sh`)).text).toBe('AREA=sub\n');
      expect((await request(`${cli.url}sleep.sh?${join(root.scratch, 'cfg-sleep')}`)).status).toBe(504);
      await eventually(() => /sleep\.sh: timed out after 300 ms/.test(cli.output()), 5000, 'the per-path timeout');
      expect(json<{ env: Record<string, string> }>(await request(`${cli.origin}/app/x`)).env.PATH_INFO).toBe('/x');
      expect((await request(`${cli.origin}/`)).text).toBe('<h1>legacy home</h1>\n');
    } finally {
      await cli.stop();
    }
  });

  it.runIf(process.getuid?.() === 0)(
    '--user runs scripts unprivileged; as root without it, a loud warning',
    async () => {
      chmodSync(dirname(root.root), 0o755);
      const cli = await startCli([root.root, '--user', 'nobody', '--quiet']);
      try {
        const { env } = json<{ env: Record<string, string> }>(await request(`${cli.url}env.py`));
        expect(env.USER ?? '').not.toBe('root');
        expect((await request(`${cli.url}uid.sh`)).text).toBe('65534\n');
        expect(cli.output()).not.toMatch(/WARNING: running as root/);
      } finally {
        await cli.stop();
      }
      const unsafe = await startCli([root.root, '--quiet']);
      try {
        expect(unsafe.output()).toMatch(/WARNING: running as root, and scripts will run as root too: give --user NAME/);
      } finally {
        await unsafe.stop();
      }
    },
  );
});
