import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChildProcessSpawner } from '../../packages/core/dist/child-process-spawner.js';
import { createNativeSpawner } from '../../packages/core/dist/native-spawner.js';
import type { CgiExit, CgiProcess, CgiSpawner, CgiSpawnOptions } from '../../packages/core/dist/spawner.js';

/** The PATH scripts get: python3 and perl through /usr/bin/env, never the server's PATH. */
export const SCRIPT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Both spawners, for tests whose assertion must hold for each (the native one only where it loads). */
export function spawnersUnderTest(): Array<[string, CgiSpawner]> {
  return [
    ['native', createNativeSpawner()],
    ['child_process', createChildProcessSpawner()],
  ];
}

/** A temporary directory of scripts; each `add` writes one, executable unless told otherwise. */
export interface ScriptDir {
  readonly dir: string;
  add(name: string, text: string, mode?: number): string;
  cleanup(): void;
}

export function makeScriptDir(): ScriptDir {
  const dir = mkdtempSync(join(tmpdir(), 'cgibridge-native-'));
  return {
    dir,
    add(name, text, mode = 0o755) {
      const file = join(dir, name);
      writeFileSync(file, text);
      chmodSync(file, mode);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Spawn options with the defaults tests share: no arguments, the scripts' PATH, cwd the file's directory. */
export function optionsFor(command: string, extra: Partial<CgiSpawnOptions> = {}): CgiSpawnOptions {
  return {
    command,
    args: [],
    env: { PATH: SCRIPT_PATH },
    cwd: tmpdir(),
    script: command,
    ...extra,
  };
}

export interface Ran {
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: CgiExit;
}

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
  });
}

/** Waits for a started process: its output (both streams to EOF) and its exit. */
export async function finish(child: CgiProcess, input = ''): Promise<Ran> {
  // A script that exits without reading its stdin makes the write fail with EPIPE.
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  const [stdout, stderr, exit] = await Promise.all([collect(child.stdout), collect(child.stderr), child.exit]);
  return { pid: child.pid, stdout, stderr, exit };
}

/** Starts and waits for a process. */
export async function run(spawner: CgiSpawner, options: CgiSpawnOptions, input = ''): Promise<Ran> {
  return finish(await spawner.spawn(options), input);
}

/** The spawn's rejection (it must reject). */
export async function spawnError(spawner: CgiSpawner, options: CgiSpawnOptions): Promise<NodeJS.ErrnoException> {
  let child: CgiProcess;
  try {
    child = await spawner.spawn(options);
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  const ran = await finish(child);
  throw new Error(`expected a spawn error, the process ran: ${JSON.stringify(ran)}`);
}
