// `npm pack` of @cgibridge/native carries prebuilt addons (its prepack script), so a user of the
// packed package installs no compiler and runs no install script. linux-x64 is always built;
// linux-arm64 when Debian's cross compiler is installed (scripts/ensure-system-deps.sh installs
// it for CI, which must then have it). The packed x64 addon loads from the packed files alone,
// on each Node line: one N-API build serves them all.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NATIVE = join(ROOT, 'packages', 'native');
const crossCompiler = spawnSync('aarch64-linux-gnu-gcc', ['--version'], { stdio: 'ignore' }).status === 0;

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('the packed @cgibridge/native', () => {
  let tmp: string;
  let files: string[] = [];
  let tarball = '';

  beforeAll(() => {
    // Packed from a copy: prebuildify moves build/ about, and other tests load the addon from there.
    tmp = mkdtempSync(join(tmpdir(), 'cgibridge-pack-'));
    const copy = join(tmp, 'native');
    cpSync(NATIVE, copy, {
      recursive: true,
      filter: (source) => !/^(build|prebuilds)(\/|$)/.test(relative(NATIVE, source)),
    });
    symlinkSync(join(ROOT, 'node_modules'), join(tmp, 'node_modules')); // prebuildify, node-gyp-build
    const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: copy, encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
    // The prepack build's own output comes first on stdout; npm's report is the JSON array at the end.
    const json = packed.stdout.slice(packed.stdout.lastIndexOf('\n[') + 1);
    const [report] = JSON.parse(json) as [{ filename: string; files: Array<{ path: string }> }];
    files = report.files.map((file) => file.path);
    tarball = join(tmp, report.filename);
  }, 180_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('carries the linux-x64 prebuild, and no build directory or C objects', () => {
    expect(files).toContain('prebuilds/linux-x64/@cgibridge+native.glibc.node');
    expect(files.filter((path) => path.startsWith('build/') || path.endsWith('.o'))).toEqual([]);
  });

  it.runIf(crossCompiler || process.env.CI === 'true')('carries the linux-arm64 prebuild', () => {
    expect(crossCompiler, 'CI installs gcc-aarch64-linux-gnu (scripts/ensure-system-deps.sh)').toBe(true);
    expect(files).toContain('prebuilds/linux-arm64/@cgibridge+native.glibc.node');
  });

  it(`loads from the packed files alone on Node ${process.version}`, () => {
    const modules = join(tmp, 'install', 'node_modules');
    mkdirSync(join(modules, '@cgibridge'), { recursive: true });
    expect(spawnSync('tar', ['xzf', tarball, '-C', join(modules, '@cgibridge')]).status).toBe(0);
    cpSync(join(modules, '@cgibridge', 'package'), join(modules, '@cgibridge', 'native'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', 'node-gyp-build'), join(modules, 'node-gyp-build'));
    const program =
      "const n = require('@cgibridge/native'); console.log(JSON.stringify({ usable: n.status.usable, binding: n.status.binding }))";
    const run = spawnSync(process.execPath, ['-e', program], { cwd: join(tmp, 'install'), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const status = JSON.parse(run.stdout) as { usable: boolean; binding: string };
    expect(status.usable).toBe(true);
    expect(status.binding).toContain(join('prebuilds', 'linux-x64'));
  });
});
