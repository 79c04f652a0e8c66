import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { createCgiGateway } from '@cgibridge/core';
import type { ServeCommand } from './args.js';
import { UsageError } from './flags.js';

/** Parses `--workers`: a count, or `auto` (one per core). */
export function parseWorkers(text: string | undefined): number {
  if (text === undefined) return 1;
  if (text === 'auto') return availableParallelism();
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`--workers must be a whole number >= 1 or auto (got "${text}")`);
  }
  return Number(text);
}

/** What a worker tells the primary once it listens. */
interface Listening {
  readonly type: 'cgibridge:listening';
  readonly line: string;
}

/** Sent by a worker once its server listens; the primary announces the first one. */
export function reportListening(line: string): void {
  process.send?.({ type: 'cgibridge:listening', line } satisfies Listening);
}

/**
 * Runs `cgibridge serve` as a primary with `command.workers` workers (node:cluster): they share
 * the listening socket, each with its own gateway (limits such as `--max-concurrent` are per
 * worker). A worker that dies is replaced; SIGTERM or SIGINT stops every worker the way a
 * single server stops (scripts killed, connections closed), then the primary exits 0.
 */
export async function runPrimary(command: ServeCommand): Promise<undefined> {
  // Wrong options fail here, once, before any worker starts; its log is the workers' format.
  const gateway = createCgiGateway(command.options);
  const logger = gateway.config.logger;
  await gateway.close();
  let stopping = false;
  let announced = false;
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: Listening) => {
      if (message?.type !== 'cgibridge:listening' || announced) return;
      announced = true;
      logger.info(`${message.line} (${command.workers} workers)`);
    });
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      logger.warn(`worker ${worker.process.pid} exited (${signal ?? `status ${code}`}); starting another`);
      fork();
    });
    return worker;
  };
  for (let i = 0; i < command.workers; i++) fork();
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    logger.info(`${signal}: stopping ${command.workers} workers`);
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    const exited = workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve)));
    for (const worker of workers) worker.process.kill(signal);
    void Promise.all(exited).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}
