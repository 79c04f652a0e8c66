import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import type { CgiSpawnOptions } from '../spawner.js';
import { readBytesSync, ScriptCache, type ScriptFacts } from './shebang.js';

/** How a cold start would launch the script's Python, as far as the script can observe it. */
export interface PythonLaunch {
  /** The interpreter's argv[0] (`python3`, `/usr/bin/python3`): `sys.orig_argv[0]`. */
  readonly argv0: string;
  /** `sys.executable` as Python computes it from argv[0] and PATH (symlinks kept). */
  readonly executable: string;
  /** The binary's real path: one zygote per real path. */
  readonly realPath: string;
  /** `sys.argv`: the script path, then the arguments after it. */
  readonly argv: readonly string[];
  /**
   * The process name (`/proc/self/comm`) the kernel would give it: the base name of the file
   * last passed to execve, which is the script itself for a direct shebang line.
   */
  readonly processName: string;
  /** Whether Python could take the script for a zip archive (see {@link ScriptFacts}). */
  readonly mayBeZip: boolean;
}

/** Why a script runs cold. */
export interface ColdReason {
  readonly reason: string;
}

/** A real CPython 3 binary's name (python3, python3.11); the ELF check follows. */
const PYTHON_NAME = /^python3(\.\d+)?$/;

interface Timed<T> {
  readonly value: T;
  readonly at: number;
}

/**
 * Finds the interpreter a script would really run: from the interpreter mapping
 * (`options.command` is an interpreter, `options.script` its first argument) or from the
 * script's shebang line (`options.command === options.script`), with the script's own PATH.
 * Lookups are cached for `checkIntervalMs`; shebang lines per path, inode and mtime.
 */
export class LaunchResolver {
  private readonly scripts = new ScriptCache();
  private readonly binaries = new Map<string, Timed<{ realPath: string } | ColdReason>>();
  private readonly lookups = new Map<string, Timed<string | ColdReason>>();

  constructor(private readonly checkIntervalMs: number) {}

  resolve(options: CgiSpawnOptions): PythonLaunch | ColdReason {
    let argv0: string;
    let argv: readonly string[];
    let execed: string | undefined;
    const facts = this.scripts.read(options.script);
    // Python reports an unreadable script itself: the mapped interpreter would start anyway.
    if (facts === null && options.command === options.script) return { reason: 'script unreadable' };
    if (options.command === options.script) {
      const shebang = facts?.shebang;
      if (shebang === undefined) return { reason: 'no shebang line' };
      argv = [options.script, ...options.args];
      if (!isAbsolute(shebang.interpreter)) return { reason: 'relative shebang interpreter' };
      if (basename(shebang.interpreter) === 'env') {
        // `#!/usr/bin/env python3`: env runs the first python3 in the script's PATH. Options
        // (`env -S`, `env -i`) or words after the name change what runs: cold.
        const name = shebang.argument;
        if (name === undefined || /[ \t]/.test(name) || name.startsWith('-') || name.includes('=')) {
          return { reason: 'env shebang with options' };
        }
        if (!isExecutableFile(shebang.interpreter)) return { reason: 'shebang interpreter not found' };
        argv0 = name;
      } else {
        if (shebang.argument !== undefined) return { reason: 'shebang interpreter arguments' };
        argv0 = shebang.interpreter;
        execed = options.script;
      }
    } else {
      if (options.args[0] !== options.script) return { reason: 'interpreter arguments' };
      argv0 = options.command;
      argv = options.args;
    }
    const executable = this.executableOf(argv0, options.env.PATH);
    if (typeof executable !== 'string') return executable;
    const binary = this.pythonBinary(executable);
    if ('reason' in binary) return binary;
    const processName = basename(execed ?? executable);
    return { argv0, executable, realPath: binary.realPath, argv, processName, mayBeZip: facts?.mayBeZip ?? true };
  }

  /** What Python sets sys.executable to: argv[0] itself when it holds a `/`, else the PATH hit. */
  private executableOf(argv0: string, path: string | undefined): string | ColdReason {
    if (argv0.includes('/')) {
      // Python makes a relative argv[0] absolute without normalising it; stay with the plain case.
      return isAbsolute(argv0) && normalize(argv0) === argv0 ? argv0 : { reason: 'unnormalised interpreter path' };
    }
    if (path === undefined) return { reason: 'no PATH' };
    const key = `${argv0}\0${path}`;
    const cached = this.fresh(this.lookups, key);
    if (cached !== undefined) return cached;
    const found = lookPath(argv0, path);
    remember(this.lookups, key, found);
    return found;
  }

  private pythonBinary(executable: string): { realPath: string } | ColdReason {
    const cached = this.fresh(this.binaries, executable);
    if (cached !== undefined) return cached;
    const found = inspectBinary(executable);
    remember(this.binaries, executable, found);
    return found;
  }

  private fresh<T>(map: Map<string, Timed<T>>, key: string): T | undefined {
    const entry = map.get(key);
    return entry !== undefined && Date.now() - entry.at < this.checkIntervalMs ? entry.value : undefined;
  }
}

function remember<T>(map: Map<string, Timed<T>>, key: string, value: T): void {
  if (map.size >= 1024) map.clear();
  map.set(key, { value, at: Date.now() });
}

/**
 * execvp's search, as Python's own sys.executable search sees it: the first executable regular
 * file named `name` in PATH. Relative or unnormalised entries (the cwd, `..`) go cold.
 */
export function lookPath(name: string, path: string): string | ColdReason {
  for (const entry of path.split(':')) {
    const dir = entry.length > 1 ? entry.replace(/\/$/, '') : entry;
    if (!isAbsolute(dir) || normalize(dir) !== dir) return { reason: 'relative PATH entry before the interpreter' };
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: keep looking, as execvp does.
    }
  }
  return { reason: 'interpreter not in PATH' };
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A real CPython 3 ELF binary outside any virtual environment, by its real path. */
export function inspectBinary(executable: string): { realPath: string } | ColdReason {
  let realPath: string;
  try {
    realPath = realpathSync.native(executable);
  } catch {
    return { reason: 'interpreter not found' };
  }
  if (!PYTHON_NAME.test(basename(realPath))) return { reason: 'interpreter is not python3' };
  const head = readBytesSync(realPath, 4, 0);
  if (head === null || head.toString('latin1') !== '\x7fELF') return { reason: 'interpreter is not a binary' };
  // CPython reads pyvenv.cfg beside its executable or one level up, before symlinks are resolved.
  for (const dir of [dirname(executable), dirname(realPath)]) {
    if (existsSync(join(dir, 'pyvenv.cfg')) || existsSync(join(dirname(dir), 'pyvenv.cfg'))) {
      return { reason: 'virtual environment' };
    }
  }
  return { realPath };
}
