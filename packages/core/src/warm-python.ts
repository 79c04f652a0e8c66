import { statSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import type { CgiLogger } from './logger.js';
import type { CgiProcess, CgiSpawner, CgiSpawnOptions } from './spawner.js';
import { LaunchResolver } from './warm/interpreter.js';
import { resolveWarmSettings, type WarmPythonConfig, type WarmPythonSettings } from './warm/settings.js';
import { ShadowCheck } from './warm/shadow.js';
import { startupDifference } from './warm/startup-env.js';
import { Zygote, type ZygoteRequest, type ZygoteState } from './warm/zygote.js';

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

/** One zygote as {@link WarmPythonStats} shows it. */
export interface WarmZygoteInfo {
  /** Real path of the interpreter. */
  readonly interpreter: string;
  readonly pid: number | undefined;
  readonly state: ZygoteState;
  /** Requests sent to it. */
  readonly served: number;
  /** Python version, once ready. */
  readonly version: string;
}

/** A {@link CgiSpawner} that says what it did. */
export interface WarmPythonSpawner extends CgiSpawner {
  stats(): WarmPythonStats;
}

/** The zygotes of one interpreter: the one serving, and its successor while it starts. */
interface Slot {
  current: Zygote | undefined;
  next: Zygote | undefined;
  /** Consecutive starts that never reported ready, and when the next may be tried. */
  failures: number;
  retryAt: number;
}

/** Time a close() gives running warm children before their zygotes are killed. */
const CLOSE_GRACE_MS = 5000;

/**
 * Wraps a cold spawner with a warm start for Python scripts: one pre-started interpreter (a
 * zygote) per real Python binary forks once per request, and the child runs the script as
 * `python3 script.py` would. Every spawn warm cannot reproduce exactly goes to `cold`
 * unchanged (`python/README.md` in this package lists the rules and every known difference).
 *
 * @param cold - the spawner for everything else, and the fallback.
 * @param settings - candidates, recycling and the scripts' base environment ({@link WarmPythonSettings}).
 * @param logger - zygote start/stop and problems (info/warn), each cold fallback's reason (debug).
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
  const slots = new Map<string, Slot>();
  const all = new Set<Zygote>();
  const coldReasons: Record<string, number> = {};
  const warned = new Set<string>();
  let warm = 0;
  let coldCount = 0;
  let closed = false;

  const start = (realPath: string, slot: Slot): Zygote | undefined => {
    if (closed || Date.now() < slot.retryAt) return undefined;
    const zygote = new Zygote(realPath, config, logger);
    all.add(zygote);
    void zygote.gone.then((failed) => {
      all.delete(zygote);
      if (!failed) return;
      slot.failures++;
      slot.retryAt = Date.now() + Math.min(60_000, 1000 * 2 ** (slot.failures - 1));
    });
    return zygote;
  };

  const slotFor = (realPath: string): Slot => {
    let slot = slots.get(realPath);
    if (slot === undefined) {
      slot = { current: undefined, next: undefined, failures: 0, retryAt: 0 };
      slots.set(realPath, slot);
    }
    return slot;
  };

  const decide = (options: CgiSpawnOptions): { zygote: Zygote; request: ZygoteRequest; slot: Slot } | string => {
    const early = candidateProblem(options, config, closed);
    if (early !== undefined) return early;
    const launch = resolver.resolve(options);
    if ('reason' in launch) return launch.reason;
    const variable = startupDifference(options.env, config.baseEnv);
    if (variable !== undefined) return `${variable} differs from the zygote's environment`;
    const slot = slotFor(launch.realPath);
    const zygote = pickZygote(slot, launch.realPath, start, logger);
    if (typeof zygote === 'string') return zygote;
    const shadow = shadows.find(dirname(options.script), zygote.shadowable);
    if (shadow !== undefined) return shadow === '' ? 'script directory unreadable' : `"${shadow}" beside the script`;
    const { argv0, executable, argv, processName } = launch;
    return { zygote, slot, request: { processName, argv0, executable, argv, env: options.env, cwd: options.cwd } };
  };

  const goCold = (options: CgiSpawnOptions, reason: string): Promise<CgiProcess> => {
    coldCount++;
    coldReasons[reason] = (coldReasons[reason] ?? 0) + 1;
    if ((reason === 'resource limits' || reason === 'credentials') && !warned.has(reason)) {
      warned.add(reason);
      logger.warn(`warm-python: scripts run with ${reason} start cold (a zygote's child cannot take them)`);
    }
    logger.debug(`warm-python: ${options.script} runs cold: ${reason}`);
    return cold.spawn(options);
  };

  return {
    name: 'warm-python',
    async spawn(options) {
      const decision = decide(options);
      if (typeof decision === 'string') return goCold(options, decision);
      const started = await decision.zygote.spawn(decision.request);
      if (typeof started === 'string') return goCold(options, `zygote: ${started}`);
      decision.slot.failures = 0;
      warm++;
      return started;
    },
    async close() {
      closed = true;
      await closeAll(all);
    },
    stats: () => ({
      warm,
      cold: coldCount,
      coldReasons: { ...coldReasons },
      zygotes: [...all].map((z) => ({
        interpreter: z.realPath,
        pid: z.pid,
        state: z.state,
        served: z.served,
        version: z.version,
      })),
    }),
  };
}

/** Reasons visible from the spawn options alone, before any file is looked at beyond a stat. */
function candidateProblem(options: CgiSpawnOptions, config: WarmPythonConfig, closed: boolean): string | undefined {
  if (closed) return 'closed';
  // Built and verified on Linux (/proc, socket semantics, fork): elsewhere everything runs cold.
  if (process.platform !== 'linux') return 'platform';
  if (options.limits !== undefined) return 'resource limits';
  if (options.credentials !== undefined) return 'credentials';
  if (!config.extensions.has(extname(options.script).toLowerCase())) return 'extension';
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

/**
 * The zygote to use for an interpreter now, or why none: starts the first one, replaces a dead
 * or stale one (cold meanwhile), and starts a successor for one due for recycling while it
 * keeps serving.
 */
function pickZygote(
  slot: Slot,
  realPath: string,
  start: (realPath: string, slot: Slot) => Zygote | undefined,
  logger: CgiLogger,
): Zygote | string {
  const now = Date.now();
  if (slot.next?.state === 'gone') slot.next = undefined;
  if (slot.next?.state === 'ready') {
    slot.current?.retire();
    slot.current = slot.next;
    slot.next = undefined;
  }
  const zygote = slot.current;
  if (zygote === undefined || zygote.state === 'gone' || zygote.state === 'retiring') {
    slot.current = start(realPath, slot);
    if (zygote === undefined) return 'zygote starting';
    return zygote.state === 'gone' ? 'zygote gone' : 'zygote retiring';
  }
  if (zygote.state === 'starting') return 'zygote starting';
  const changed = zygote.stale(now);
  if (changed !== undefined) {
    logger.info(`warm-python: ${changed} changed since the zygote for ${realPath} loaded it: replacing the zygote`);
    zygote.retire();
    slot.current = start(realPath, slot);
    return 'zygote stale';
  }
  if (zygote.due(now) && slot.next === undefined) slot.next = start(realPath, slot);
  return zygote;
}

/** Retires every zygote, gives running children a grace period, then kills what is left. Never hangs. */
async function closeAll(all: ReadonlySet<Zygote>): Promise<void> {
  const zygotes = [...all];
  for (const zygote of zygotes) zygote.retire();
  const wait = (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const gone = Promise.all(zygotes.map((z) => z.gone));
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    return Promise.race([gone, late]).finally(() => clearTimeout(timer));
  };
  await wait(CLOSE_GRACE_MS);
  for (const zygote of zygotes) zygote.kill('still running when the spawner closed', false);
  await wait(1000);
}
