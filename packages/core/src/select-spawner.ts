import { readFileSync } from 'node:fs';
import { createChildProcessSpawner } from './child-process-spawner.js';
import { warnAboutInheritedDescriptors } from './descriptors.js';
import { loadNativeSpawner, type NativePipeSizes, STDOUT_READ_MAX } from './native-spawner.js';
import { CgiOptionError } from './option-checks.js';
import type { CgiConfig } from './options.js';
import type { CgiSpawner } from './spawner.js';
import { createWarmSpawner } from './warm-python.js';

let fallbackReported = false;

const KiB = 1024;

function procNumber(path: string): number | undefined {
  try {
    const value = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The stdin and stdout pipe sizes for the native spawner. Measured in `npm run bench` (this
 * machine): with a 1 MiB stdin pipe a 50 MiB upload ran at 807 against 638 MB/s and the
 * full-duplex echo at 457 against 329. A stdout pipe read a pipe-full at a time took a 100 MiB
 * response from 148 to 72-85 ms of the server's CPU with 1 MiB, 78-80 with 256 KiB (a large
 * stdout pipe read 64 KiB at a time did not help); stdout stays at 256 KiB, since a paused
 * response holds a few reads in memory and its pipe in the kernel. Pipe pages count against a
 * per-user budget (`/proc/sys/fs/pipe-user-pages-soft`, 64 MiB by default) past which every new
 * pipe of that user gets two pages: root is exempt and gets up to `pipe-max-size` (1 MiB); any
 * other user sizes that keep `maxConcurrent` scripts' two pipes within a quarter of the budget,
 * or the default.
 */
export function pipeSizesFor(maxConcurrent: number, system: PipeSystem = pipeSystem()): NativePipeSizes {
  const max = Math.min(1024 * KiB, system.maxBytes ?? 1024 * KiB);
  if (system.root || system.softPages === 0) return bothPipes(max);
  if (system.softPages === undefined) return {};
  const scripts = Number.isFinite(maxConcurrent) ? maxConcurrent : 1024;
  const fair = (system.softPages * 4 * KiB) / 4 / scripts / 2;
  let size = 64 * KiB;
  while (size * 2 <= Math.min(fair, max)) size *= 2;
  return size > 64 * KiB ? bothPipes(size) : {};
}

/** `size` for stdin; for stdout as much, up to what is read of it at a time. */
function bothPipes(size: number): NativePipeSizes {
  return { pipeSize: size, stdoutPipeSize: Math.min(size, STDOUT_READ_MAX) };
}

/** What {@link pipeSizesFor} depends on: this process's privilege and the kernel's pipe limits. */
export interface PipeSystem {
  /** Root is exempt from the per-user budget. */
  readonly root: boolean;
  /** `/proc/sys/fs/pipe-max-size`. */
  readonly maxBytes: number | undefined;
  /** `/proc/sys/fs/pipe-user-pages-soft` (0: no budget). */
  readonly softPages: number | undefined;
}

function pipeSystem(): PipeSystem {
  return {
    root: process.geteuid?.() === 0,
    maxBytes: procNumber('/proc/sys/fs/pipe-max-size'),
    softPages: procNumber('/proc/sys/fs/pipe-user-pages-soft'),
  };
}

/**
 * The spawner scripts start with: the cold one `config.spawner` asks for, wrapped in the warm
 * Python start when `warm` is set. The cold one is `native` or fail, `child_process`, or `auto` (native
 * when it loads, else child_process, saying why once per process).
 * @throws CgiOptionError when `native` was asked for and cannot load.
 */
export function selectSpawner(config: CgiConfig): CgiSpawner {
  const cold = coldSpawner(config);
  if (config.warm === undefined) return cold;
  const { extensions, settings } = config.warm;
  return createWarmSpawner(cold, { ...settings, extensions, baseEnv: config.baseEnv }, config.logger);
}

/** The spawner for scripts that start from scratch (and the warm start's fallback). */
function coldSpawner(config: CgiConfig): CgiSpawner {
  if (typeof config.spawner === 'object') return config.spawner;
  if (config.spawner !== 'child_process') {
    const native = loadNativeSpawner(pipeSizesFor(config.maxConcurrent));
    if (native.spawner !== undefined) return native.spawner;
    if (config.spawner === 'native') {
      throw new CgiOptionError('spawner', '"auto" or "child_process" here', 'native', native.message);
    }
    if (!fallbackReported) {
      fallbackReported = true;
      config.logger.info(`using the child_process spawner: the native spawner is unavailable (${native.message})`);
    }
  }
  // Node's spawn passes on every descriptor the server inherited without close-on-exec.
  warnAboutInheritedDescriptors(config.logger);
  return createChildProcessSpawner();
}
