import { parseArgs } from 'node:util';
import type { CgiOptions } from '@cgibridge/core';
import { CONFIG_NAME, findConfigFile, readConfigFile } from './config-file.js';
import { OPTION_FLAGS, type OptionFlag, UsageError } from './flags.js';
import { parseWorkers } from './workers.js';

export { parseDuration, parseSize, UsageError } from './flags.js';

/** What `cgibridge serve` was asked to do. */
export interface ServeCommand {
  readonly command: 'serve';
  readonly port: number;
  readonly host: string;
  readonly quiet: boolean;
  /** Worker processes (node:cluster); 1 serves from this process. */
  readonly workers: number;
  /** The first mount's options (the only one without a config file). */
  readonly options: Mount;
  /** Every mount, tried in order: the flags, or a config file's mounts with the flags applied to each. */
  readonly mounts: readonly Mount[];
  /** A directory of files served before the scripts (`--static`). */
  readonly static?: string | undefined;
  /** The config file read, if any. */
  readonly configFile?: string | undefined;
}

/** One gateway's options as the CLI gives them. */
export type Mount = CgiOptions & { mountPath: string };

/** `cgibridge --help`, `cgibridge serve --help` or `cgibridge --version`. */
export interface InfoCommand {
  readonly command: 'help' | 'serve-help' | 'version';
}

/** Flags of the server itself, not of the gateway. */
const SERVER_FLAGS = {
  port: { type: 'string', arg: '<n>', help: 'port to listen on (default: $PORT or 8080; 0 picks a free one)' },
  host: { type: 'string', arg: '<addr>', help: 'address to listen on (default: 127.0.0.1)' },
  workers: {
    type: 'string',
    arg: '<n|auto>',
    help: 'worker processes sharing the port; limits are per worker (default: 1)',
  },
  static: { type: 'string', arg: '<dir>', help: 'serve the files of <dir> before the scripts (never a script itself)' },
  config: {
    type: 'string',
    arg: '<file>',
    help: `options from a JSON file, the options' own names (default: ./${CONFIG_NAME} if there is one)`,
  },
  quiet: { type: 'boolean', help: 'do not log one line per request' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', help: 'show the version' },
} as const;

type Entry = [name: keyof CgiOptions, flag: OptionFlag<unknown>];
const GATEWAY_FLAGS = (Object.entries(OPTION_FLAGS) as Array<[keyof CgiOptions, OptionFlag<unknown> | null]>).filter(
  (entry): entry is Entry => entry[1]?.flag.startsWith('--') === true,
);

function helpLine(flag: string, arg: string | undefined, help: string): string {
  return `  ${`${flag}${arg ? ` ${arg}` : ''}`.padEnd(29)}${help}`;
}

/**
 * Every flag of `cgibridge serve` with its argument and help text, in the order `--help`
 * prints them: the server's own, then one per gateway option (from the option table).
 */
export function serveFlags(): Array<{ flag: string; arg: string | undefined; help: string }> {
  const server = Object.entries(SERVER_FLAGS).map(([name, spec]) => ({
    flag: `${'short' in spec ? `-${spec.short}, ` : ''}--${name}`,
    arg: 'arg' in spec ? spec.arg : undefined,
    help: spec.help,
  }));
  const gateway = GATEWAY_FLAGS.map(([, spec]) => ({ flag: spec.flag, arg: spec.arg, help: spec.help }));
  return [...server.slice(0, 5), ...gateway, ...server.slice(5)];
}

export const USAGE = `Usage: cgibridge serve <dir> [options]

Serve the CGI scripts in <dir> (RFC 3875 CGI/1.1) on a plain Node HTTP server.

Commands:
  serve <dir>                  run the scripts in <dir> under --mount
  doctor [<dir>]               check the scripts for the classic CGI mistakes (see doctor --help)
  import-apache <file>         translate an Apache config's CGI directives (see import-apache --help)

Run "cgibridge serve --help" for the options.`;

export const SERVE_USAGE = `Usage: cgibridge serve <dir> [options]
       cgibridge serve --script <file> [options]

Options:
${serveFlags()
  .map(({ flag, arg, help }) => helpLine(flag, arg, help))
  .join('\n')}

Durations take ms, s or m (a bare number is milliseconds); sizes take b, kb, mb or gb (1kb = 1024 bytes).
Scripts run directly (shebang line, executable bit) unless --interpreter maps their extension.`;

function parseSpec(argv: readonly string[]) {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, spec] of Object.entries(SERVER_FLAGS)) {
    options[name] = { type: spec.type, ...('short' in spec ? { short: spec.short } : {}) };
  }
  for (const [, spec] of GATEWAY_FLAGS) {
    options[spec.flag.slice(2)] = { type: spec.arg ? 'string' : 'boolean', multiple: spec.multiple === true };
  }
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (error) {
    // parseArgs explains at length; the first sentence names the flag.
    throw new UsageError(((error as Error).message.split('\n')[0] ?? '').replace(/\. .*$/, ''));
  }
}

/** The gateway options the flags ask for, each parsed by its own entry in the flag table. */
function flagOptions(values: Record<string, unknown>): CgiOptions {
  const options: Record<string, unknown> = {};
  for (const [name, spec] of GATEWAY_FLAGS) {
    const value = values[spec.flag.slice(2)];
    if (value !== undefined) options[name] = (spec.parse as (value: unknown) => unknown)(value);
  }
  return options;
}

/** The mounts to serve: `<dir>`/`--script` with the flags, or a config file's mounts with the flags over each. */
function mountsOf(values: Record<string, unknown>, dir: string | undefined) {
  const flags = flagOptions(values);
  const file =
    dir === undefined && values.script === undefined ? findConfigFile(values.config as string | undefined) : undefined;
  if (dir === undefined && values.script === undefined && file === undefined) {
    throw new UsageError(
      'serve needs the directory of scripts: cgibridge serve <dir> (or --script <file>, or --config <file>)',
    );
  }
  if (dir !== undefined && values.script !== undefined) {
    throw new UsageError('serve takes either <dir> or --script <file>, not both');
  }
  if (values.config !== undefined && (dir !== undefined || values.script !== undefined)) {
    // Before, the file was silently ignored: its options (inheritEnv, overrides...) never applied.
    throw new UsageError('serve takes <dir>/--script or --config <file>, not both: put "root" or "script" in the file');
  }
  const config = file === undefined ? undefined : readConfigFile(file);
  const base = config?.mounts ?? [dir === undefined ? {} : { root: dir }];
  const mounts = base.map((mount): Mount => ({ mountPath: '/cgi-bin', ...mount, ...flags }));
  return { mounts, config };
}

/**
 * Parses the command line.
 * @throws UsageError with a one-line message naming the flag.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ServeCommand | InfoCommand {
  const { values, positionals } = parseSpec(argv);
  if (values.version) return { command: 'version' };
  const [command, dir, ...extra] = positionals;
  if (command === undefined) {
    if (values.help) return { command: 'help' };
    throw new UsageError('missing command: expected "serve <dir>"');
  }
  if (command !== 'serve') throw new UsageError(`unknown command "${command}": expected "serve <dir>"`);
  if (values.help) return { command: 'serve-help' };
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const { mounts, config } = mountsOf(values, dir);
  const portText = (values.port as string | undefined) ?? env.PORT ?? String(config?.port ?? 8080);
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`--port must be a port number 0-65535 (got "${portText}")`);
  }
  return {
    command: 'serve',
    port: Number(portText),
    host: (values.host as string | undefined) ?? config?.host ?? '127.0.0.1',
    quiet: values.quiet === true,
    workers: parseWorkers(values.workers as string | undefined),
    options: mounts[0] as Mount,
    mounts,
    static: (values.static as string | undefined) ?? config?.static,
    configFile: config?.path,
  };
}
