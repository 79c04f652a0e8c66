import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CgiOptions, createCgiGateway } from '@cgibridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const APACHE = new URL('../fixtures/apache/', import.meta.url).pathname;

type Options = Record<string, unknown>;

function imported(file: string, ...flags: string[]) {
  const text = runCli(['import-apache', file, ...flags]);
  const json = runCli(['import-apache', file, '--json', ...flags]);
  expect(text.status, text.stderr).toBe(0);
  expect(json.status, json.stderr).toBe(0);
  return { text: text.stdout, config: JSON.parse(json.stdout) as Options & { mounts?: Options[] } };
}

/** The part of the report under a "# Title" heading. */
function section(text: string, title: string): string {
  const start = text.indexOf(`# ${title}\n`);
  expect(start, `section ${title}`).toBeGreaterThanOrEqual(0);
  const rest = text.slice(start + title.length + 3);
  const end = rest.search(/^# /m);
  return end === -1 ? rest : rest.slice(0, end);
}

describe('cgibridge import-apache on a Debian layout (IncludeOptional globs, IfModule, IfDefine)', () => {
  it('finds the ScriptAlias of serve-cgi-bin.conf through the includes', () => {
    const { config, text } = imported(join(APACHE, 'debian/apache2.conf'));
    expect(config).toEqual({
      mountPath: '/cgi-bin',
      root: '/usr/lib/cgi-bin',
      index: ['index.cgi', 'index.pl'],
      timeout: 300_000,
    });
    expect(section(text, 'Mounts')).toMatch(
      /"ScriptAlias \/cgi-bin\/ \/usr\/lib\/cgi-bin\/" at conf-enabled\/serve-cgi-bin\.conf:11/,
    );
    expect(section(text, 'Mounts')).toMatch(/User \$\{APACHE_RUN_USER\}: an undefined variable .*--define/);
    expect(section(text, 'Not translated')).toMatch(
      /sites-enabled\/000-default\.conf:4: DocumentRoot \/var\/www\/html\n {2}-> applies only in vhost \*:80, while the mount \/cgi-bin/,
    );
    expect(section(text, 'Express (@cgibridge/express)')).toContain(
      "app.use('/cgi-bin', cgi({ root: '/usr/lib/cgi-bin', index: ['index.cgi', 'index.pl'], timeout: 300000 }));",
    );
    expect(section(text, 'Behaviour differences')).toMatch(/Timeout is an idle timeout .* wall-clock limit/);
  });

  it('takes variables and defines from --define, as httpd -D', () => {
    const { config } = imported(
      join(APACHE, 'debian/apache2.conf'),
      '--define',
      'APACHE_RUN_USER=www-data',
      '-D',
      'APACHE_RUN_GROUP=www-data',
    );
    expect(config.runAs).toBe('www-data');
  });
});

describe('cgibridge import-apache on ScriptAliasMatch with AddHandler .py', () => {
  let text: string;
  let config: Options & { mounts?: Options[] };
  beforeAll(() => {
    ({ text, config } = imported(join(APACHE, 'pycgi.conf')));
  });

  it('maps a prefix regex to a mount, one config per mount', () => {
    expect(config.mounts).toEqual([
      { mountPath: '/pycgi', root: '/home/app/pycgi', index: ['index.py'] },
      { mountPath: '/reports', root: '/srv/reports' },
      { mountPath: '/cgi-bin', root: '/usr/lib/cgi-bin' },
    ]);
  });

  it('explains how each regex maps', () => {
    const mounts = section(text, 'Mounts');
    expect(mounts).toMatch(/every \/pycgi\.\.\. URL maps to the directory \/home\/app\/pycgi\/ itself/);
    expect(mounts).toMatch(/"ScriptAliasMatch \^\/pycgi\/\(\.\*\) \/home\/app\/pycgi\/\$1": a mount at \/pycgi/);
    expect(mounts).toMatch(/also matches \/pycgiX/);
    expect(mounts).toMatch(/Apache ran only names matching \(\.\*\\\.pl\)/);
    expect(mounts).toMatch(/AddHandler cgi-script \.py: .*run directly \(shebang line and execute bit\)/);
    // ^/cgi-bin/(.*) -> /usr/lib/cgi-bin/$1 is exactly a mount: nothing to add about the regex.
    const classic = mounts.slice(mounts.indexOf('/cgi-bin: from'));
    expect(classic).toMatch(
      /^\/cgi-bin: from "ScriptAliasMatch \^\/cgi-bin\/\(\.\*\) \/usr\/lib\/cgi-bin\/\$1" at pycgi\.conf:18/,
    );
    expect(classic).not.toMatch(/regex|ran only|maps to the directory/);
  });

  it('lists the per-user regex with captures as not translated, with file:line and why', () => {
    expect(section(text, 'Not translated')).toMatch(
      /pycgi\.conf:15: ScriptAliasMatch \^\/~\(\[\^\/\]\+\)\/cgi-bin\/\(\.\*\) \/home\/\$1\/public_html\/cgi-bin\/\$2\n {2}-> the target builds a path from captures \(\$1, \$2\)/,
    );
  });
});

describe('cgibridge import-apache on a vhost with SetEnv, PassEnv, CGIPassAuth, Timeout, LimitRequestBody, User', () => {
  let text: string;
  let mounts: Options[];
  beforeAll(() => {
    const result = imported(join(APACHE, 'vhost.conf'));
    text = result.text;
    mounts = result.config.mounts as Options[];
  });

  it('translates the shop vhost: quoted and continued values, 0 as unlimited, suexec user', () => {
    expect(mounts[0]).toEqual({
      mountPath: '/cgi-bin',
      root: '/srv/shop/cgi-bin',
      documentRoot: '/srv/shop/htdocs',
      index: ['store.cgi'],
      env: {
        APP_ENV: 'production',
        DB_DSN: 'dbi:Pg:dbname=shop host=db.internal',
        GREETING: 'say "hi"',
        LONG_LIST: 'one,two,three',
      },
      inheritEnv: ['TZ', 'ORACLE_HOME'],
      passAuthorization: true,
      timeout: 120_000,
      maxRequestBody: 'unlimited',
      runAs: 'shop',
    });
  });

  it('translates the second vhost: a script, CGIScriptTimeout over Timeout, the server-wide User', () => {
    expect(mounts[1]).toEqual({
      mountPath: '/tools',
      script: '/srv/intranet/tools.cgi',
      timeout: 45_000,
      maxRequestBody: 1_048_576,
      runAs: 'www-data',
    });
    expect(section(text, 'Mounts')).toMatch(
      /\/tools: from "ScriptAlias \/tools \/srv\/intranet\/tools\.cgi" at vhost\.conf:46, vhost intranet\.example\.com/,
    );
  });

  it('lists what it could not translate, with file:line, the vhost and why', () => {
    const skipped = section(text, 'Not translated');
    for (const [where, why] of [
      ['vhost.conf:20: SSLOptions +StdEnvVars', /SSL_\* variables are not set/],
      ['vhost.conf:21: RewriteEngine On', /mod_rewrite/],
      ['vhost.conf:22: RewriteRule', /mod_rewrite.*\(in vhost shop\.example\.com\)/],
      ['vhost.conf:31: Require valid-user', /access control: enforce it in the app/],
      [
        'vhost.conf:35: SetEnv ADMIN 1',
        /<Directory \/srv\/shop\/cgi-bin\/admin> in vhost shop\.example\.com, only part of the mount \/cgi-bin/,
      ],
      ['vhost.conf:38: <If', /decided per request/],
    ] as const) {
      expect(skipped, where).toMatch(
        new RegExp(`${where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\\n {2}-> .*${why.source}`),
      );
    }
    expect(skipped).not.toMatch(/LEGACY_HOST/);
  });

  it('writes an Express app and the behaviour differences', () => {
    const express = section(text, 'Express (@cgibridge/express)');
    expect(express).toContain("import { cgi } from '@cgibridge/express';");
    expect(express).toMatch(
      /app\.use\('\/cgi-bin', cgi\(\{ root: '\/srv\/shop\/cgi-bin', .*GREETING: 'say "hi"'.*maxRequestBody: Infinity, runAs: 'shop' \}\)\);/,
    );
    expect(express).toMatch(/\/\/ .* vhost shop\.example\.com \(vhost\.conf:6\)/);
    const differences = section(text, 'Behaviour differences');
    expect(differences).toMatch(/idle timeout .* wall-clock/);
    expect(differences).toMatch(/LimitRequestBody 0 means unlimited in Apache/);
    expect(differences).toMatch(/DOCUMENT_ROOT: set from DocumentRoot/);
    expect(differences).toMatch(/Virtual hosts: cgibridge has none/);
  });

  it('uses only core option names (and the coming user)', () => {
    for (const mount of mounts) {
      const { runAs: _runAs, maxRequestBody, ...rest } = mount;
      // The JSON's "unlimited" is Infinity in JavaScript; paths need not exist to check the names.
      const options = {
        ...rest,
        maxRequestBody: maxRequestBody === 'unlimited' ? Number.POSITIVE_INFINITY : maxRequestBody,
      };
      expect(() => createCgiGateway({ ...(options as CgiOptions), logger: false })).toThrow(/must be an existing/);
    }
  });
});

describe('cgibridge import-apache with an Include of a conf.d/*.conf glob', () => {
  it('reads the matching files in order, relative to the including file, and maps ExecCGI directories', () => {
    const { config, text } = imported(join(APACHE, 'includes/httpd.conf'));
    const shared = {
      documentRoot: '/var/www/site',
      env: { SITE_NAME: 'Example Site' },
      inheritEnv: ['LANG'],
      maxRequestBody: 524_288,
    };
    expect(config.mounts).toEqual([
      { mountPath: '/tools', root: '/opt/tools', ...shared },
      { mountPath: '/app', root: '/var/www/site/app', ...shared },
    ]);
    expect(text).not.toContain('should-not-be-read');
    expect(section(text, 'Mounts')).toMatch(
      /Apache ran only \.cgi, \.pl files in \/var\/www\/site\/app as scripts and served the other files/,
    );
    expect(section(text, 'Mounts')).toMatch(/"Options ExecCGI" in <Directory \/opt\/tools> at conf\.d\/10-cgi\.conf:3/);
  });
});

describe('cgibridge import-apache syntax details', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cgibridge-apache-'));
    mkdirSync(join(dir, 'cgi'));
    writeFileSync(join(dir, 'app.cgi'), '#!/bin/sh\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('handles comments, continuations, quotes, case, <Location> and missing includes', () => {
    const file = join(dir, 'site.conf');
    writeFileSync(
      file,
      [
        '# A comment that continues \\',
        'ScriptAlias /swallowed /by/the/comment/',
        '  SCRIPTALIAS "/plain" ' + `"${dir}/cgi"`,
        `ScriptAlias /app ${dir}/app.cgi`,
        '<Location "/legacy">',
        `    ScriptAlias ${dir}/cgi/`,
        '</Location>',
        'Include does-not-exist.conf',
        "SetEnv SINGLE 'single quoted'",
        'LimitRequestBody \\',
        '    2048',
        '',
      ].join('\n'),
    );
    const { config, text } = imported(file);
    expect(config.mounts).toEqual([
      { mountPath: '/plain', root: `${dir}/cgi`, env: { SINGLE: 'single quoted' }, maxRequestBody: 2048 },
      { mountPath: '/app', script: `${dir}/app.cgi`, env: { SINGLE: 'single quoted' }, maxRequestBody: 2048 },
      { mountPath: '/legacy', root: `${dir}/cgi`, env: { SINGLE: 'single quoted' }, maxRequestBody: 2048 },
    ]);
    expect(text).not.toContain('/swallowed');
    expect(section(text, 'Not translated')).toMatch(
      /site\.conf:8: Include does-not-exist\.conf\n {2}-> nothing found at does-not-exist\.conf/,
    );
  });

  it('says so when there is nothing to translate, and refuses bad usage', () => {
    const file = join(dir, 'empty.conf');
    writeFileSync(file, 'Listen 80\n');
    expect(runCli(['import-apache', file]).stdout).toMatch(/^# No CGI locations found/);
    expect(runCli(['import-apache']).status).toBe(2);
    expect(runCli(['import-apache', join(dir, 'missing.conf')])).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/^cgibridge: cannot read .*missing\.conf/),
    });
  });
});
