import { type CgiOptions, CHUNKED_MODES, FORWARDED_HEADERS, SPAWNER_MODES } from '@cgibridge/core';

/** A usage mistake: exit 2 with this one-line message and the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** How one gateway option is given on the command line. */
export interface OptionFlag<T> {
  /** `--timeout`; `<dir>` for the positional argument. */
  readonly flag: string;
  /** What follows the flag in the help, e.g. `<duration>`; absent for a switch. */
  readonly arg?: string;
  /** The flag may be repeated; `parse` then gets every value. */
  readonly multiple?: boolean;
  readonly help: string;
  /** Turns the text (or, for a repeated flag, the texts; for a switch, `true`) into the option's value. */
  readonly parse: (value: never) => T;
}

type FlagTable = { readonly [K in keyof CgiOptions]-?: OptionFlag<NonNullable<CgiOptions[K]>> | null };

/** Parses `500ms`, `10s`, `2m` (a bare number is milliseconds). */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`${flag} must be a duration like 500ms, 10s or 2m (got "${text}")`);
  const factor = m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1;
  const ms = Math.round(Number(m[1]) * factor);
  if (ms < 1) throw new UsageError(`${flag} must be at least 1ms (got "${text}")`);
  return ms;
}

/** Parses `512kb`, `10mb`, `1gb`, a bare byte count, or `unlimited`. */
export function parseSize(flag: string, text: string): number {
  if (/^(unlimited|infinity)$/i.test(text.trim())) return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)(b|kb|k|mb|m|gb|g)?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`${flag} must be a size like 512kb, 10mb or 1gb (got "${text}")`);
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const factor = unit === 'g' ? 1024 ** 3 : unit === 'm' ? 1024 ** 2 : unit === 'k' ? 1024 : 1;
  return Math.floor(Number(m[1]) * factor);
}

export function parseCount(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min} (got "${text}")`);
  }
  return Number(text);
}

function pairs(flag: string, items: readonly string[], check: (key: string) => boolean): Array<[string, string]> {
  return items.map((item) => {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq);
    if (eq <= 0 || !check(key)) {
      throw new UsageError(`${flag} must look like ${flag === '--env' ? 'KEY=VALUE' : '.ext=command'} (got "${item}")`);
    }
    return [key, item.slice(eq + 1)];
  });
}

function choice<T extends string>(flag: string, choices: readonly T[]) {
  return (text: string): T => {
    if (!choices.includes(text as T)) {
      throw new UsageError(`${flag} must be ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)} (got "${text}")`);
    }
    return text as T;
  };
}

const text = (value: string) => value;
const list = (values: readonly string[]) => [...values];
const on = (): boolean => true;

function interpreters(values: readonly string[]): Record<string, string[]> {
  const entries = pairs('--interpreter', values, (key) => /^\.[A-Za-z0-9_+-]+$/.test(key)).map(([ext, command]) => {
    const argv = command.trim().split(/\s+/).filter(Boolean);
    if (argv.length === 0) throw new UsageError(`--interpreter ${ext}= needs a command`);
    return [ext, argv] as const;
  });
  return Object.fromEntries(entries);
}

function limits(values: readonly string[]): NonNullable<CgiOptions['limits']> {
  const result: { cpuSeconds?: number; memoryBytes?: number; processes?: number } = {};
  for (const [name, value] of values.map((item) => [
    item.slice(0, item.indexOf('=')),
    item.slice(item.indexOf('=') + 1),
  ])) {
    if (name === 'cpu')
      result.cpuSeconds = Math.max(1, Math.round(parseDuration('--limit cpu', value as string) / 1000));
    else if (name === 'memory') result.memoryBytes = parseSize('--limit memory', value as string);
    else if (name === 'processes') result.processes = parseCount('--limit processes', value as string, 1);
    else throw new UsageError(`--limit must look like cpu=10s, memory=512mb or processes=32 (got "${name}=${value}")`);
  }
  return result;
}

/**
 * Every gateway option, and how the command line spells it (`null`: no flag, e.g. a function).
 * Typed over all of `CgiOptions`: an option added to core without a decision here fails the build.
 */
export const OPTION_FLAGS: FlagTable = {
  root: { flag: '<dir>', help: 'the directory of scripts', parse: text },
  script: {
    flag: '--script',
    arg: '<file>',
    help: 'one front-controller script for every URL under --mount, instead of <dir>',
    parse: text,
  },
  mountPath: {
    flag: '--mount',
    arg: '<path>',
    help: 'URL prefix of the scripts (default: /cgi-bin; "/" for the whole site)',
    parse: text,
  },
  interpreters: {
    flag: '--interpreter',
    arg: '<.ext=cmd>',
    multiple: true,
    help: 'run *.ext with cmd, e.g. .py=python3 or ".pl=perl -T" (repeatable)',
    parse: interpreters,
  },
  index: {
    flag: '--index',
    arg: '<name>',
    multiple: true,
    help: 'script to run for a directory URL, e.g. index.cgi (repeatable)',
    parse: list,
  },
  env: {
    flag: '--env',
    arg: '<KEY=VALUE>',
    multiple: true,
    help: 'set a variable for every script (repeatable)',
    parse: (values: readonly string[]) =>
      Object.fromEntries(pairs('--env', values, (key) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(key))),
  },
  inheritEnv: {
    flag: '--inherit-env',
    arg: '<NAME>',
    multiple: true,
    help: "pass the server's variable NAME on to scripts (repeatable)",
    parse: list,
  },
  passAuthorization: {
    flag: '--pass-authorization',
    help: 'pass the Authorization header as HTTP_AUTHORIZATION',
    parse: on,
  },
  trustProxy: {
    flag: '--trust-proxy',
    arg: '<addr>',
    multiple: true,
    help: 'believe forwarded headers from this address or CIDR range (repeatable)',
    parse: list,
  },
  forwardedHeaders: {
    flag: '--forwarded-headers',
    arg: '<family>',
    help: 'which headers the trusted proxy writes: x-forwarded (default) or forwarded (RFC 7239)',
    parse: choice('--forwarded-headers', FORWARDED_HEADERS),
  },
  serverName: {
    flag: '--server-name',
    arg: '<host>',
    help: 'pin SERVER_NAME instead of trusting the Host header',
    parse: text,
  },
  serverPort: {
    flag: '--server-port',
    arg: '<n>',
    help: 'pin SERVER_PORT instead of the local port',
    parse: (value: string) => parseCount('--server-port', value, 1),
  },
  allowedHosts: {
    flag: '--allowed-host',
    arg: '<host>',
    multiple: true,
    help: 'answer 400 to any other Host (repeatable)',
    parse: list,
  },
  timeout: {
    flag: '--timeout',
    arg: '<duration>',
    help: 'wall-clock limit per script, upload included: 500ms, 10s, 2m (default: 30s)',
    parse: (value: string) => parseDuration('--timeout', value),
  },
  killGrace: {
    flag: '--kill-grace',
    arg: '<duration>',
    help: 'wait between SIGTERM and SIGKILL (default: 2s)',
    parse: (value: string) => parseDuration('--kill-grace', value),
  },
  maxConcurrent: {
    flag: '--max-concurrent',
    arg: '<n>',
    help: 'scripts running at once; more get 503 (default: 64)',
    parse: (value: string) => parseCount('--max-concurrent', value, 1),
  },
  maxRequestBody: {
    flag: '--max-request-body',
    arg: '<size>',
    help: 'largest request body: 512kb, 10mb, 1gb, unlimited (default: 1gb)',
    parse: (value: string) => parseSize('--max-request-body', value),
  },
  chunkedRequests: {
    flag: '--chunked-requests',
    arg: '<mode>',
    help: 'chunked uploads: buffer, stream or reject (default: buffer)',
    parse: choice('--chunked-requests', CHUNKED_MODES),
  },
  spoolDirectory: {
    flag: '--spool-dir',
    arg: '<dir>',
    help: 'where chunked uploads past 1 MiB are spooled (default: the temp dir)',
    parse: text,
  },
  spoolBudget: {
    flag: '--spool-budget',
    arg: '<size>',
    help: 'bytes all spooled uploads may hold at once (default: 1gb)',
    parse: (value: string) => parseSize('--spool-budget', value),
  },
  maxResponseHeaderBytes: null,
  localRedirects: null,
  commandArgs: {
    flag: '--command-args',
    help: 'turn an indexed query (no "=") into script arguments (RFC 3875 4.4)',
    parse: on,
  },
  nph: { flag: '--nph', help: 'let nph-* scripts print their own HTTP status line', parse: on },
  limits: {
    flag: '--limit',
    arg: '<name=value>',
    multiple: true,
    help: 'per-script limit: cpu=10s, memory=512mb or processes=32 (repeatable)',
    parse: limits,
  },
  runAs: {
    flag: '--user',
    arg: '<name|uid:gid>',
    help: 'run scripts as this user (when started as root)',
    parse: text,
  },
  spawner: {
    flag: '--spawner',
    arg: '<kind>',
    help: 'auto (default), native or child_process; also $CGIBRIDGE_SPAWNER',
    parse: choice('--spawner', SPAWNER_MODES),
  },
  logger: null,
  logFormat: {
    flag: '--log-format',
    arg: '<format>',
    help: 'text (default: time, level, request id, message) or json (pino-compatible lines)',
    parse: choice('--log-format', ['text', 'json'] as const),
  },
  // One line per request unless --quiet: a server flag, set in serve().
  accessLog: null,
  debug: {
    flag: '--dev',
    help: "development error page for a script's 5xx (diagnosis, output, stderr); never in production",
    parse: on,
  },
  documentRoot: {
    flag: '--document-root',
    arg: '<dir>',
    help: 'DOCUMENT_ROOT, and where PATH_TRANSLATED maps PATH_INFO',
    parse: text,
  },
  warm: {
    flag: '--warm',
    arg: '<.ext>',
    multiple: true,
    help: 'warm start for Python scripts with this extension, e.g. .py (repeatable)',
    parse: (values: readonly string[]) => Object.fromEntries(values.map((ext) => [ext, true])),
  },
  // Per-path settings need a config file (cgibridge.config.json).
  overrides: null,
  onEvent: null,
};
