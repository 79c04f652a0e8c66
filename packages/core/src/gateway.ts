import { dirname } from 'node:path';
import { parseCommandArgs } from './command-args.js';
import { collectHeaders, createCgiEnv } from './create-env.js';
import { recordStartFailure } from './debug-facts.js';
import { asCgiError, CgiError } from './errors.js';
import { CgiEventSink } from './events.js';
import { quoteForLog } from './logger.js';
import { type CgiConfig, type CgiOptions, resolveCgiOptions } from './options.js';
import { configFor } from './overrides.js';
import { CgiProcessPool, type CgiSlot } from './process-pool.js';
import type { CgiRequest } from './request.js';
import { type PreparedBody, prepareBody } from './request-body.js';
import { type CgiScriptMatch, canonicalPath, reconfine, resolveScript, splitCgiPath } from './resolve-script.js';
import { type CgiResult, clientRedirect } from './results.js';
import { type CgiRunContext, ScriptRun } from './script-run.js';
import { selectSpawner } from './select-spawner.js';
import { explainSpawnError } from './spawn-error.js';
import type { CgiProcess, CgiSpawner } from './spawner.js';
import { SpoolBudget } from './spool.js';

/**
 * The framework-neutral engine: a request in, a response description out. The
 * `node:http` handler, the adapters and the CLI are all thin layers over it.
 */
export interface CgiGateway {
  /** The validated configuration. */
  readonly config: CgiConfig;
  /** The spawner scripts are started with (`native`, `child_process`...). */
  readonly spawner: CgiSpawner;
  /** Slots taken now (the overlapping hops of a local-redirect chain count once). */
  readonly running: number;
  /**
   * Runs the script a request names.
   * @returns the response to send, or `null` when no script matches (fall through to the next handler).
   * @throws CgiError before any response header exists (its `status` says what to answer).
   */
  run(request: CgiRequest): Promise<CgiResult | null>;
  /**
   * Reports a request the gateway answered without running `run` (e.g. a 404 from a
   * handler with nowhere to fall through), so that `onEvent` sees every request.
   */
  report(request: CgiRequest, status: number, errorCode?: string): void;
  /**
   * Refuses new scripts (503), kills every running script (whole process groups), one whose
   * spawn was in flight included, and resolves when all have exited.
   */
  close(): Promise<void>;
}

/** What one gateway holds: its configuration, the run context, the spawner and the spool budget. */
interface Engine extends CgiRunContext {
  readonly spawner: CgiSpawner;
  readonly budget: SpoolBudget;
}

/**
 * Creates the gateway engine. Options are validated here, once.
 * @throws CgiOptionError (a TypeError) naming a wrong option.
 */
export function createCgiGateway(options: CgiOptions): CgiGateway {
  const config = resolveCgiOptions(options);
  const engine: Engine = {
    config,
    pool: new CgiProcessPool(config.maxConcurrent, config.killGrace),
    events: new CgiEventSink(config),
    spawner: selectSpawner(config),
    budget: new SpoolBudget(config.spoolBudget),
  };
  return {
    config,
    spawner: engine.spawner,
    get running() {
      return engine.pool.running;
    },
    run: (request) => run(engine, request),
    report(request, status, errorCode) {
      engine.events.end(request, performance.now(), { status, errorCode });
    },
    async close() {
      await engine.pool.close();
      await engine.spawner.close();
    },
  };
}

/** Logs a failure before any run exists (server-side ones as errors, refusals as info), reports it, throws it. */
function failEarly(engine: Engine, request: CgiRequest, start: number, error: unknown, scriptName?: string): never {
  const failure = asCgiError(error);
  const { logger } = engine.config;
  const label = scriptName ?? `${request.method} ${quoteForLog(request.target)}`;
  const fields = { reqId: request.id, scriptName };
  (failure.status >= 500 ? logger.error : logger.info)(`${label}: ${failure.message}`, fields);
  // Before a match (a script without its execute bit), the script is named by the URL path.
  if (engine.config.debug) recordStartFailure(failure, scriptName ?? request.mountPath + request.path);
  engine.events.end(request, start, { scriptName, status: failure.status, errorCode: failure.code });
  throw failure;
}

async function run(engine: Engine, request: CgiRequest): Promise<CgiResult | null> {
  const start = performance.now();
  let found: Awaited<ReturnType<typeof find>>;
  try {
    found = await find(engine.config, request);
  } catch (error) {
    failEarly(engine, request, start, error);
  }
  if (found === null || 'kind' in found) {
    if (found !== null) engine.events.end(request, start, { status: found.status });
    return found;
  }
  return execute(engine, request, found.match, found.args, start);
}

/** The script a request names, a redirect the gateway answers itself, or `null`. */
async function find(config: CgiConfig, request: CgiRequest) {
  const segments = splitCgiPath(request.path);
  const match = await resolveScript(segments, request.mountPath, config);
  if (match === null) return null;
  const query = request.query === '' ? '' : `?${request.query}`;
  if ('directoryRedirect' in match) return clientRedirect(301, match.directoryRedirect + query);
  // The framework (and any proxy in front) matched the raw path: a path that only decodes to
  // the script would slip past a guard mounted on its plain spelling.
  const canonical = canonicalPath(request.path);
  if (canonical !== null) return clientRedirect(308, request.mountPath + canonical + query);
  const commandArgs = config.commandArgs && (request.method === 'GET' || request.method === 'HEAD');
  return { match, args: commandArgs ? parseCommandArgs(request.query) : [] };
}

/** Takes a slot, reads the body, checks the path again, builds the environment and starts the run. */
async function execute(
  engine: Engine,
  request: CgiRequest,
  match: CgiScriptMatch,
  args: readonly string[],
  start: number,
): Promise<CgiResult> {
  let slot: CgiSlot;
  try {
    // The slot is taken before a chunked body is read: reading is bounded by slots, not connections.
    slot = engine.pool.acquire(request.chain?.slot);
  } catch (error) {
    failEarly(engine, request, start, error, match.scriptName);
  }
  // The settings of this script's path (per-path overrides), for everything from here on.
  const config = configFor(engine.config, match.filename);
  let body: PreparedBody | null = null;
  let process: CgiProcess;
  let client: string;
  let pathEnv: string | undefined;
  try {
    const headers = collectHeaders(request.rawHeaders);
    body = await prepareBody(request, headers, config, engine.budget);
    // After the last await before the spawn: a client that left is seen here or by the run,
    // and a script moved out of the root while the body was read never starts.
    if (request.signal.aborted) {
      throw new CgiError('ERR_CGI_CLIENT_GONE', 'client left before the script started; not run');
    }
    reconfine(match, config);
    // close() may have begun while the body was read.
    engine.pool.assertOpen();
    const env = createCgiEnv(request, match, config, headers, body);
    client = env.REMOTE_ADDR as string;
    pathEnv = env.PATH;
    process = await engine.pool.spawning(spawn({ ...engine, config }, match, args, env));
  } catch (error) {
    body?.discard();
    slot.release();
    failEarly(engine, request, start, error, match.scriptName);
  }
  // No await from the spawn to start(): close() counts on a settled spawn's run being in the pool.
  const runStart = { request, match, process, spawner: engine.spawner.name, body, slot, client, pathEnv, start };
  return new ScriptRun({ ...engine, config }, runStart).start();
}

async function spawn(engine: Engine, match: CgiScriptMatch, args: readonly string[], env: Record<string, string>) {
  try {
    return await engine.spawner.spawn({
      command: match.command,
      args: [...match.args, ...args],
      env,
      cwd: dirname(match.filename),
      script: match.filename,
      limits: engine.config.limits,
      credentials: engine.config.runAs,
      warm: engine.config.warmHere,
    });
  } catch (error) {
    throw await explainSpawnError(match, error as NodeJS.ErrnoException, env.PATH);
  }
}
