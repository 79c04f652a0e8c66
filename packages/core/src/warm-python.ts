import { statSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import type { CgiLogger } from './logger.js';
import { asChildProcessError } from './native-spawner.js';
import type { CgiProcess, CgiSpawner, CgiSpawnOptions } from './spawner.js';
import { LaunchResolver } from './warm/interpreter.js';
import { type WarmZygoteInfo, ZygotePool } from './warm/pool.js';
import { resolveWarmSettings, type WarmPythonConfig, type WarmPythonSettings } from './warm/settings.js';
import { ShadowCheck } from './warm/shadow.js';
import { startupDifference } from './warm/startup-env.js';
import type { Zygote, ZygoteRequest } from './warm/zygote.js';

export type { WarmZygoteInfo } from './warm/pool.js';
export { DEFAULT_PRELOAD, type WarmPythonSettings } from './warm/settings.js';

/** What a warm spawner has done so far (diagnostics, tests). */
export interface WarmPythonStats {
  /** Spawns run in a zygote's child. */
  readonly warm: number;
  /** Spawns handed to the cold spawner. */
  readonly cold: number;
  /** Cold spawns by reason (`extension`, `shebang interpreter arguments`, `zygote starting`...). */
  readonly coldReasons: Readonly<Record<string, number>>;
  /** The zygotes alive now. */
  readonly zygotes: readonly WarmZygoteInfo[];
}

/** A {@link CgiSpawner} that says what it did. */
export interface WarmPythonSpawner extends CgiSpawner {
  stats(): WarmPythonStats;
}

/**
 * Wraps a cold spawner with a warm start for Python scripts: one pre-started interpreter (a
 * zygote) per real Python binary forks once per request, and the child runs the script as
 * `python3 script.py` would. Every spawn warm cannot reproduce exactly goes to `cold`
 * unchanged (`python/README.md` in this package lists the rules and every known difference).
 *
 * @param cold - the spawner for everything else, and the fallback.
 * @param settings - candidates, recycling and the scripts' base environment ({@link WarmPythonSettings}).
 * @param logger - info: zygotes ready or replaced, and once per reason that keeps scripts cold;
 *   warn: zygotes that fail; debug: every cold spawn with its reason.
 * @example
 * ```ts
 * const spawner = createWarmSpawner(createChildProcessSpawner(), { baseEnv: config.baseEnv, extensions: ['.py'] }, logger);
 * ```
 */
export function createWarmSpawner(
  cold: CgiSpawner,
  settings: WarmPythonSettings,
  logger: CgiLogger,
): WarmPythonSpawner {
  const config = resolveWarmSettings(settings);
  const resolver = new LaunchResolver(config.checkIntervalMs);
  const shadows = new ShadowCheck();
  const pool = new ZygotePool(config, logger);
  const coldReasons: Record<string, number> = {};
  const warned = new Set<string>();
  let warm = 0;
  let coldCount = 0;
  let closed = false;

  const decide = (options: CgiSpawnOptions): { zygote: Zygote; request: ZygoteRequest } | string => {
    const early = candidateProblem(options, config, closed);
    if (early !== undefined) return early;
    const launch = resolver.resolve(options);
    if ('reason' in launch) return launch.reason;
    const variable = startupDifference(options.env, config.baseEnv);
    if (variable !== undefined) return `${variable} differs from the zygote's environment`;
    const zygote = pool.pick(launch.realPath);
    if (typeof zygote === 'string') return zygote;
    const shadow = shadows.find(dirname(options.script), zygote.shadowable);
    if (shadow !== undefined) return shadow === '' ? 'script directory unreadable' : `"${shadow}" beside the script`;
    const { argv0, executable, argv, processName, mayBeZip } = launch;
    const { env, cwd, limits, credentials } = options;
    const request = { processName, mayBeZip, argv0, executable, argv, env, cwd, limits, credentials };
    return { zygote, request };
  };

  const goCold = (options: CgiSpawnOptions, reason: string): Promise<CgiProcess> => {
    coldCount++;
    coldReasons[reason] = (coldReasons[reason] ?? 0) + 1;
    if (!warned.has(reason) && !TRANSIENT.test(reason)) {
      // Once per reason: a setting or an installation keeps these scripts cold, say which.
      warned.add(reason);
      logger.info(`warm-python: some scripts run cold: ${reason}; the first: ${options.script}`);
    }
    logger.debug(`warm-python: ${options.script} runs cold: ${reason}`);
    return cold.spawn(options).then((process) => Object.assign(process, { spawner: cold.name }));
  };

  return {
    // Says both: the warm start, and the spawner everything else (and every fallback) takes.
    name: `${cold.name}+warm-python`,
    async spawn(options) {
      const decision = decide(options);
      if (typeof decision === 'string') return goCold(options, decision);
      const started = await decision.zygote.spawn(decision.request).catch((error: unknown) => {
        // The child refused (setuid, setrlimit, over the process limit): cold would have too.
        pool.succeeded(decision.zygote);
        warm++;
        throw asSpawnError(error, options.command);
      });
      if (typeof started === 'string') return goCold(options, `zygote: ${started}`);
      pool.succeeded(decision.zygote);
      warm++;
      return Object.assign(started, { spawner: 'warm-python' });
    },
    async close() {
      closed = true;
      await pool.close();
    },
    stats: () => ({ warm, cold: coldCount, coldReasons: { ...coldReasons }, zygotes: pool.info() }),
  };
}

/**
 * A warm child's refusal in the shape the native spawner gives: `setuid /path EPERM` with the
 * program as its path, and an exec-time failure (EAGAIN over the process limit) as Node's `spawn`.
 */
function asSpawnError(error: unknown, command: string): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno?.syscall !== 'string') return error;
  Object.assign(errno, { path: command, message: `${errno.syscall} ${command} ${errno.code}` });
  return asChildProcessError(errno, command);
}

/** Cold reasons that come and go with zygotes, or that the operator chose: not worth an info line. */
const TRANSIENT = /^(zygote|closed$|extension$|excluded$)/;

/** Reasons visible from the spawn options alone, before any file is looked at beyond a stat. */
function candidateProblem(options: CgiSpawnOptions, config: WarmPythonConfig, closed: boolean): string | undefined {
  if (closed) return 'closed';
  // Built and verified on Linux (/proc, socket semantics, fork): elsewhere everything runs cold.
  if (process.platform !== 'linux') return 'platform';
  if (options.warm === false) return 'excluded';
  if (options.warm !== true && !config.extensions.has(extname(options.script).toLowerCase())) return 'extension';
  const name = basename(options.script);
  if (config.exclude.some((pattern, i) => pattern.test(config.excludeByName[i] ? name : options.script))) {
    return 'excluded';
  }
  // The cold spawner reports a missing working directory as the chdir error the gateway expects.
  if (!statSync(options.cwd, { throwIfNoEntry: false })?.isDirectory()) return 'working directory';
  // Node refuses these with its own error: let it.
  const strings = [options.command, options.cwd, ...options.args, ...Object.entries(options.env).flat()];
  if (strings.some((s) => s.includes('\0'))) return 'NUL character';
  // putenv() refuses them; Node passes them on as they are.
  if (Object.keys(options.env).some((name) => name === '' || name.includes('='))) return 'environment variable name';
  return undefined;
}
