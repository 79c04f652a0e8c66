// Shared by the warm-python suites: real spawners, real scripts written to a temp directory.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createChildProcessSpawner } from '../../packages/core/dist/child-process-spawner.js';
import type { CgiLogger } from '../../packages/core/dist/logger.js';
import type { CgiExit, CgiSpawner, CgiSpawnOptions } from '../../packages/core/dist/spawner.js';
import {
  createWarmSpawner,
  type WarmPythonSettings,
  type WarmPythonSpawner,
} from '../../packages/core/dist/warm-python.js';

/** The interpreter under test (the real binary, not pyenv's shim). */
export const PYTHON = '/usr/bin/python3';

/** Extra interpreters for the identity suite, e.g. WARM_EXTRA_PYTHONS=/root/.pyenv/versions/3.8.18/bin/python3.8 */
export const EXTRA_PYTHONS = (process.env.WARM_EXTRA_PYTHONS ?? '').split(':').filter((p) => p && existsSync(p));

export const BASE_ENV: Readonly<Record<string, string>> = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };

/** What a run produced. */
export interface RunResult {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly exit: CgiExit;
  readonly pid: number;
  /** stdout reached its end before the exit was reported. */
  readonly stdoutEndedFirst: boolean;
}

/** Spawns, feeds stdin, collects every byte of stdout and stderr and the exit. */
export async function run(spawner: CgiSpawner, options: CgiSpawnOptions, stdin?: Buffer | string): Promise<RunResult> {
  const proc = await spawner.spawn(options);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  proc.stdin.on('error', () => {});
  proc.stdin.end(stdin ?? '');
  let exited = false;
  const outEnd = new Promise<boolean>((resolve) => {
    proc.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    proc.stdout.on('end', () => resolve(!exited));
  });
  const errEnd = new Promise<void>((resolve) => {
    proc.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    proc.stderr.on('end', resolve);
  });
  const exit = await proc.exit.then((e) => {
    exited = true;
    return e;
  });
  const stdoutEndedFirst = await outEnd;
  await errEnd;
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), exit, pid: proc.pid, stdoutEndedFirst };
}

/** How the gateway would ask for a script: by its shebang line, or through an interpreter mapping. */
export type Mode = 'shebang' | 'mapped';

export function optionsFor(
  script: string,
  mode: Mode,
  extra: { env?: Record<string, string>; args?: string[]; interpreter?: string } = {},
): CgiSpawnOptions {
  const env = { ...BASE_ENV, GATEWAY_INTERFACE: 'CGI/1.1', ...extra.env };
  const args = extra.args ?? [];
  const cwd = script.slice(0, script.lastIndexOf('/')) || '/';
  if (mode === 'shebang') return { command: script, args, env, cwd, script };
  return { command: extra.interpreter ?? PYTHON, args: [script, ...args], env, cwd, script };
}

/** A temp directory for scripts (real path: the gateway always passes real paths). */
export function scriptDir(): {
  dir: string;
  write: (name: string, source: string, python?: string) => string;
  writeZip: (name: string, files: Record<string, string>, python?: string) => string;
  cleanup: () => void;
} {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'cgibridge-warm-test-')));
  return {
    dir,
    write(name, source, python = PYTHON) {
      const path = join(dir, name);
      const body = source.startsWith('#!') ? source : `#!${python}\n${source}`;
      writeFileSync(path, body, { mode: 0o755 });
      return path;
    },
    writeZip(name, files, python = PYTHON) {
      // Python's own zipfile builds it: a shebang line, then the archive (a zipapp).
      const path = join(dir, name);
      const program = `import sys, zipfile, json\nwith open(sys.argv[1], "wb") as f:\n    f.write(b"#!" + sys.argv[2].encode() + b"\\n")\n    with zipfile.ZipFile(f, "w") as z:\n        for k, v in json.loads(sys.argv[3]).items():\n            z.writestr(k, v)\n`;
      const made = spawnSync(PYTHON, ['-c', program, path, python, JSON.stringify(files)], { env: BASE_ENV });
      if (made.status !== 0) throw new Error(made.stderr.toString());
      chmodSync(path, 0o755);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Collects info, warnings and errors; debug is dropped. */
export function recordingLogger(): CgiLogger & { readonly lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug() {},
    info: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    error: (m) => lines.push(m),
  };
}

export const coldSpawner = createChildProcessSpawner();

export function newWarmSpawner(settings: Partial<WarmPythonSettings> = {}, logger?: CgiLogger): WarmPythonSpawner {
  return createWarmSpawner(coldSpawner, { baseEnv: BASE_ENV, ...settings }, logger ?? recordingLogger());
}

/** Waits, bounded, until `check` holds. */
export async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs `options` (cold meanwhile) until a zygote for its interpreter is ready. A request starts
 * a zygote; after a failed one, only a request after the restart backoff does.
 */
export async function warmUp(spawner: WarmPythonSpawner, options: CgiSpawnOptions): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!spawner.stats().zygotes.some((z) => z.state === 'ready')) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a ready zygote');
    if (!spawner.stats().zygotes.some((z) => z.state === 'starting')) await run(spawner, options);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs once and asserts which way it went. */
export async function runExpecting(
  way: 'warm' | 'cold',
  spawner: WarmPythonSpawner,
  options: CgiSpawnOptions,
  stdin?: Buffer | string,
): Promise<RunResult> {
  const before = spawner.stats()[way];
  const result = await run(spawner, options, stdin);
  expect(spawner.stats()[way], `expected the spawn to go ${way}: ${JSON.stringify(spawner.stats().coldReasons)}`).toBe(
    before + 1,
  );
  return result;
}

/** The pid of the one ready zygote. */
export function zygotePid(spawner: WarmPythonSpawner): number {
  const ready = spawner.stats().zygotes.filter((z) => z.state === 'ready');
  expect(ready).toHaveLength(1);
  return ready[0]?.pid as number;
}

/** Whether a process exists (a zombie still does). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
