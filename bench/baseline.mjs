// The code of another git ref, built beside the current code, so a run can compare the two
// ("no regression") on the same machine in the same minutes.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const PACKAGES = ['packages/core', 'packages/cli', 'packages/express', 'packages/koa'];
/** Built with node-gyp, not TypeScript; a ref without it runs with this checkout's addon. */
const NATIVE = 'packages/native';

function git(repo, args, options = {}) {
  return spawnSync('git', ['-C', repo, ...args], { maxBuffer: 1 << 30, ...options });
}

/**
 * The ref the run compares against when none is given: where this branch left main (the
 * merge-base), else HEAD.
 */
export function defaultBaselineRef(repo) {
  const base = git(repo, ['merge-base', 'HEAD', 'main'], { encoding: 'utf8' });
  return base.status === 0 ? base.stdout.trim() : 'HEAD';
}

/**
 * Links `dir/node_modules` to the repository's installed packages, except cgibridge's own,
 * which resolve to the build in `dir`: the ref is compiled and run with today's TypeScript
 * and dependencies (core has none at run time), but never with today's cgibridge.
 */
function linkNodeModules(repo, dir, own) {
  const from = join(repo, 'node_modules');
  const to = join(dir, 'node_modules');
  mkdirSync(to);
  for (const entry of readdirSync(from)) {
    if (entry.startsWith('.')) continue;
    if (!entry.startsWith('@')) {
      if (!own.has(entry)) symlinkSync(join(from, entry), join(to, entry));
      continue;
    }
    mkdirSync(join(to, entry));
    for (const name of readdirSync(join(from, entry))) {
      if (!own.has(`${entry}/${name}`)) symlinkSync(join(from, entry, name), join(to, entry, name));
    }
  }
  for (const [name, path] of own) {
    if (name.includes('/')) mkdirSync(join(to, name.split('/')[0]), { recursive: true });
    symlinkSync(path, join(to, name));
  }
}

/**
 * Compiles the ref's own addon with this repository's node-gyp (offline, against the headers of
 * the Node that runs the bench): with today's addon, a change to it would compare with itself.
 * @throws Error saying why it does not build.
 */
function buildAddon(repo, dir, subject) {
  let nodeGyp;
  try {
    nodeGyp = createRequire(join(repo, NATIVE, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    throw new Error(`${subject}: no node-gyp in this checkout to build its native addon with (npm ci)`);
  }
  const nodedir = join(dirname(process.execPath), '..'); // else node-gyp would download headers
  const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], {
    cwd: join(dir, NATIVE),
    encoding: 'utf8',
  });
  if (build.status !== 0 || !existsSync(join(dir, NATIVE, 'build', 'Release', 'cgibridge_native.node'))) {
    const why = `${build.stdout}${build.stderr}`
      .trim()
      .split('\n')
      .find((line) => /error/i.test(line));
    throw new Error(`${subject}: its native addon does not build${why ? `: ${why}` : ''}`);
  }
}

/**
 * Extracts `ref`'s packages (core, cli, and express/koa/native where they exist) into
 * `<tmp>/baseline`, compiles them with this repository's TypeScript and node-gyp, and puts a
 * copy of today's bench/host.mjs beside them, so the same harness serves the old code.
 * @returns `{ dir, commit, subject }`. @throws Error saying why the ref cannot be built.
 */
export function buildBaseline(repo, ref, tmp) {
  const rev = git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { encoding: 'utf8' });
  if (rev.status !== 0) throw new Error(`no commit "${ref}" in this repository`);
  const commit = rev.stdout.trim();
  const subject = git(repo, ['log', '-1', '--format=%h %s', commit], { encoding: 'utf8' }).stdout.trim();
  const present = [...PACKAGES, NATIVE, 'tsconfig.base.json'].filter(
    (path) => git(repo, ['cat-file', '-e', `${commit}:${path}`]).status === 0,
  );
  if (!present.includes('packages/core') || !present.includes('packages/cli')) {
    throw new Error(`${subject} has no packages/core and packages/cli`);
  }
  const dir = join(tmp, 'baseline');
  mkdirSync(join(dir, 'bench'), { recursive: true });
  const archive = git(repo, ['archive', '--format=tar', commit, ...present]);
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (archive.status !== 0 || untar.status !== 0) throw new Error(`cannot extract ${subject}`);

  const packages = present.filter((path) => path.startsWith('packages/'));
  const own = new Map(
    packages.map((path) => [JSON.parse(readFileSync(join(dir, path, 'package.json'), 'utf8')).name, join(dir, path)]),
  );
  linkNodeModules(repo, dir, own);
  copyFileSync(new URL('./host.mjs', import.meta.url), join(dir, 'bench', 'host.mjs'));

  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const typescript = packages.filter((path) => path !== NATIVE);
  const build = spawnSync(process.execPath, [tsc, '--build', ...typescript], { cwd: dir, encoding: 'utf8' });
  if (build.status !== 0 || !existsSync(join(dir, 'packages/cli/dist/main.js'))) {
    throw new Error(`${subject} does not compile: ${(build.stdout + build.stderr).trim().split('\n')[0]}`);
  }
  if (packages.includes(NATIVE)) buildAddon(repo, dir, subject);
  return { dir, commit, subject };
}
