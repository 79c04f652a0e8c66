// The peers users judge cgibridge against, prepared in the run's temporary directory: Go's
// net/http/cgi (bench/peers/go-cgi, built here) and lighttpd's mod_cgi (a generated config).
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CGI_OPTIONS } from '@cgibridge/core';

const GO_SOURCE = fileURLToPath(new URL('./peers/go-cgi/', import.meta.url));

/** The first line a command prints for `args` (its version), or undefined when it cannot run. */
export function versionOf(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return undefined;
  return (r.stdout || r.stderr).split('\n')[0].trim();
}

/**
 * Builds the Go peer into `<tmp>/go` with the standard library only: module mode, no proxy,
 * caches inside `tmp`, so nothing is fetched and nothing outside `tmp` is written.
 * @returns the binary's path. @throws Error saying why it cannot be had.
 */
export function buildGoPeer(tmp) {
  if (versionOf('go', ['version']) === undefined) throw new Error('no go toolchain (apt-get install golang-go)');
  const dir = join(tmp, 'go');
  const binary = join(dir, 'go-cgi');
  const env = {
    ...process.env,
    GOCACHE: join(dir, 'cache'),
    GOPATH: join(dir, 'gopath'),
    GOFLAGS: '-mod=mod',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
  };
  const r = spawnSync('go', ['build', '-o', binary, '.'], { cwd: GO_SOURCE, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`go build failed: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`);
  return binary;
}

/** A port nothing listens on now (the kernel's pick for port 0, released again). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Writes a lighttpd config into `<tmp>/lighttpd`: loopback only, a free port, mod_cgi and no
 * other module, every script of `scripts` run directly (`""`: the file is the program), the
 * error log and upload spool inside `tmp`. Bodies are streamed both ways (mode 1: spill to a
 * temporary file only when the other side is slower), lighttpd's fastest setting for these
 * transfers when measured, so the figures compare against lighttpd at its best.
 * @returns `{ conf, port }`. @throws Error saying why it cannot be had.
 */
/** The names cgibridge passes its scripts by default: core's own `inheritEnv` default, not a copy. */
export const INHERITED_NAMES = CGI_OPTIONS.inheritEnv.resolve(undefined);

/**
 * Those variables with this process's values. lighttpd passes none and Go only `LD_LIBRARY_PATH`:
 * the peers are given these too (lighttpd's `setenv.add-environment`, Go's `InheritEnv`), so every
 * host's scripts do the same work. It matters: with `LANG=C.UTF-8` Perl loads the locale at every
 * start, 0.5 ms of CPU per request on this machine (bench/RESULTS.md).
 */
export function inheritedEnv() {
  return Object.fromEntries(
    INHERITED_NAMES.filter((name) => process.env[name]).map((name) => [name, process.env[name]]),
  );
}

export async function lighttpdConfig(tmp, scripts) {
  if (versionOf('lighttpd', ['-v']) === undefined) throw new Error('no lighttpd (apt-get install lighttpd)');
  const dir = join(tmp, 'lighttpd');
  mkdirSync(join(dir, 'docroot'), { recursive: true });
  mkdirSync(join(dir, 'upload'), { recursive: true });
  // /cgi-bin/<name> maps to scripts/<name> through a symlink, so no mod_alias is needed.
  symlinkSync(scripts, join(dir, 'docroot', 'cgi-bin'));
  const port = await freePort();
  const conf = join(dir, 'lighttpd.conf');
  const q = JSON.stringify; // lighttpd strings are double-quoted like JSON's
  const scriptEnv = Object.entries(inheritedEnv())
    .map(([name, value]) => `${q(name)} => ${q(value)}`)
    .join(', ');
  writeFileSync(
    conf,
    [
      // Without this, lighttpd also loads mod_indexfile, mod_dirlisting and mod_staticfile.
      'server.compat-module-load = "disable"',
      `server.modules = ( "mod_cgi"${scriptEnv ? ', "mod_setenv"' : ''} )`,
      `server.document-root = ${q(join(dir, 'docroot'))}`,
      'server.bind = "127.0.0.1"',
      `server.port = ${port}`,
      `server.errorlog = ${q(join(dir, 'error.log'))}`,
      `server.upload-dirs = ( ${q(join(dir, 'upload'))} )`,
      'server.stream-request-body = 1',
      'server.stream-response-body = 1',
      'cgi.assign = ( ".sh" => "", ".pl" => "", ".py" => "" )',
      ...(scriptEnv ? [`setenv.add-environment = ( ${scriptEnv} )`] : []),
      '',
    ].join('\n'),
  );
  const check = spawnSync('lighttpd', ['-tt', '-f', conf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`lighttpd rejects its config: ${(check.stderr || check.stdout).trim()}`);
  return { conf, port };
}
