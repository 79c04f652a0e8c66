import cluster from 'node:cluster';
import { closeSync, readFileSync } from 'node:fs';
import { CgiOptionError, listInheritedDescriptors } from '@cgibridge/core';
import { parseCommandLine, SERVE_USAGE, USAGE, UsageError } from './args.js';
import { OPTION_FLAGS } from './flags.js';
import { serve } from './serve.js';
import { reportListening, runPrimary } from './workers.js';
import { collectDeadChunksEarly } from './young-generation.js';

/** A wrong option value, in the words of the flag that gave it. */
function flagMessage(error: unknown): string {
  if (!(error instanceof CgiOptionError)) return (error as Error).message.replace(/^cgibridge: /, '');
  const name = /^[A-Za-z]+/.exec(error.option)?.[0] as keyof typeof OPTION_FLAGS;
  const flag = OPTION_FLAGS[name]?.flag ?? error.option;
  return `${flag} must be ${error.expected} (got ${error.received})${error.detail ? `: ${error.detail}` : ''}`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs the `cgibridge` command line. Resolves with the exit code for one-shot
 * commands; `serve` keeps running until SIGINT/SIGTERM, then exits 0.
 */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  // One-shot subcommands with parsers of their own (they reuse serve's flags where they share them).
  // Loaded only when asked for: a server does not carry their code (about 1 MiB of RSS).
  if (argv[0] === 'doctor') return (await import('./doctor/index.js')).doctorMain(argv.slice(1));
  if (argv[0] === 'import-apache') return (await import('./import-apache/index.js')).importApacheMain(argv.slice(1));
  let command: ReturnType<typeof parseCommandLine>;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`cgibridge: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (command.command === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (command.command !== 'serve') {
    process.stdout.write(`${command.command === 'help' ? USAGE : SERVE_USAGE}\n`);
    return 0;
  }
  // The CLI owns its process: descriptors leaked into it by its parent would reach every
  // script (Node's spawn cannot leave them out), so they are closed before anything starts.
  for (const fd of listInheritedDescriptors()) closeSync(fd);
  // Its V8 too: streamed chunks are its main garbage.
  collectDeadChunksEarly();
  let running: Awaited<ReturnType<typeof serve>>;
  try {
    if (command.workers > 1 && cluster.isPrimary) return await runPrimary(command);
    running = await serve(command, undefined, cluster.isWorker ? reportListening : undefined);
  } catch (error) {
    // Wrong option values (from the gateway) and listen errors: one line, no stack.
    process.stderr.write(`cgibridge: ${flagMessage(error)}\n`);
    return error instanceof TypeError ? 2 : 1;
  }
  const stop = (signal: NodeJS.Signals) => {
    running.log.info(`${signal}: stopping (killing running scripts)`);
    process.once(signal, () => process.exit(130)); // a second signal: stop now
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}
