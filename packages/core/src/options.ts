import { realpathSync, statSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { type CgiLogger, consoleLogger, silentLogger } from './logger.js';
import type { CgiRequest } from './request.js';

/** What a request ended with, reported once per request through {@link CgiOptions.onEvent}. */
export interface CgiEndEvent {
  readonly type: 'end';
  readonly id: string;
  readonly method: string;
  /** The original request-target. */
  readonly target: string;
  /** `SCRIPT_NAME` of the script that ran, if one did. */
  readonly scriptName?: string | undefined;
  /**
   * The status sent to the client; when the response was cut short after it started,
   * `errorCode` says why. 0 when this script sent no response of its own: a local
   * redirect (see `localRedirect`) or a connection gone before any answer.
   */
  readonly status: number;
  /** Where the script's local redirect (RFC 3875 §6.2.2) sent the request, if it did. */
  readonly localRedirect?: string | undefined;
  /** Milliseconds from the start of the request until both response and script finished. */
  readonly durationMs: number;
  /** Exit code of the script, or `null` when it was killed by a signal or never ran. */
  readonly exitCode: number | null;
  /** Signal that ended the script, if any. */
  readonly signal: NodeJS.Signals | null;
  /** Request body bytes written to the script's stdin. */
  readonly bytesIn: number;
  /** Response body bytes sent to the client. */
  readonly bytesOut: number;
  /** Error code when the request failed (`ERR_CGI_TIMEOUT`, ...). */
  readonly errorCode?: string | undefined;
}

/** A script was started. */
export interface CgiSpawnEvent {
  readonly type: 'spawn';
  readonly id: string;
  readonly scriptName: string;
  readonly pid: number;
}

/** The script printed a valid header block. */
export interface CgiHeadersEvent {
  readonly type: 'headers';
  readonly id: string;
  readonly scriptName: string;
  readonly status: number;
}

/** Per-request observations, in order: `spawn`, `headers`, `end`. */
export type CgiEvent = CgiSpawnEvent | CgiHeadersEvent | CgiEndEvent;

/** How to handle a request body sent with `Transfer-Encoding: chunked` (no length known in advance). */
export type CgiChunkedMode = 'buffer' | 'stream' | 'reject';

/** Options of {@link createCgiHandler} and {@link createCgiGateway}. Exactly one of `root` and `script` is required. */
export interface CgiOptions {
  /** Directory of scripts; the first URL segment that names a file under it is the script (RFC 3875 §3.3). */
  root?: string;
  /** One script that receives every URL below the mount; the rest of the path is `PATH_INFO` (front controller). */
  script?: string;
  /** URL prefix the gateway answers under, matched on whole segments. Default `''` (the whole site). */
  mountPath?: string;
  /**
   * Interpreter per file extension, as a command name or `[command, ...args]`; the script path is
   * appended. Without a mapping a file runs directly (its shebang line). Default `{}`.
   * @example `{ '.py': 'python3', '.pl': ['perl', '-T'] }`
   */
  interpreters?: Record<string, string | readonly string[]>;
  /** Script names to run for a directory URL (`/cgi-bin/app/`). Default `[]`: directories are never served. */
  index?: readonly string[];
  /** Extra environment for every script, or a function of the request returning it. Undefined values unset. */
  env?: Record<string, string> | ((request: CgiRequest) => Record<string, string | undefined>);
  /**
   * Names of the server's own environment variables passed on to scripts (as Go's `net/http/cgi`).
   * `PATH` is always passed unless `env` sets it. Default: `LANG`, `LC_ALL`, `LC_CTYPE`, `TZ`, `TMPDIR`
   * (and `SYSTEMROOT`, `COMSPEC`, `PATHEXT`, `WINDIR` on Windows).
   */
  inheritEnv?: readonly string[];
  /** Pass the `Authorization` header as `HTTP_AUTHORIZATION` (Apache's `CGIPassAuth`). Default `false`. */
  passAuthorization?: boolean;
  /**
   * Which peers are trusted proxies whose `Forwarded` (RFC 7239), or else `X-Forwarded-For`/`-Proto`/`-Host`, are believed for
   * `REMOTE_ADDR`, `HTTPS` and `SERVER_NAME`: `true` (any peer), a list of addresses and CIDR
   * ranges, or a predicate. Default `false`: forwarded headers only become `HTTP_X_FORWARDED_*`.
   */
  trustProxy?: boolean | readonly string[] | ((address: string) => boolean);
  /** Wall-clock limit per script in ms (504 before headers, aborted response after). Default `30000`. */
  timeout?: number;
  /** Milliseconds between SIGTERM and SIGKILL when a script's process group is killed. Default `2000`. */
  killGrace?: number;
  /** Scripts running at once per gateway; more are answered 503 with `Retry-After`. Default `64`. */
  maxConcurrent?: number;
  /** Largest request body in bytes (413 beyond). `Infinity` lifts the limit. Default 10 MiB. */
  maxRequestBody?: number;
  /** Chunked request bodies: buffer to compute `CONTENT_LENGTH` (default), stream without it, or reject with 411. */
  chunkedRequests?: CgiChunkedMode;
  /** Largest header block a script may print, in bytes. Default 64 KiB. */
  maxResponseHeaderBytes?: number;
  /** Follow RFC 3875 §6.2.2 local redirects inside the server (at most 10 hops). Default `true`. */
  localRedirects?: boolean;
  /** Turn a query string without `=` into argv (RFC 3875 §4.4), GET/HEAD only. Default `false`. */
  commandArgs?: boolean;
  /** Let `nph-*` scripts start their output with an HTTP status line. Default `false`. */
  nph?: boolean;
  /** Where log lines go; `false` silences them. Default: the console. */
  logger?: CgiLogger | false;
  /** Directory `PATH_TRANSLATED` maps `PATH_INFO` into, and `DOCUMENT_ROOT`. Default: unset / the script root. */
  documentRoot?: string;
  /** Observe each request: `spawn`, `headers` and `end` (exit code, duration, bytes). Must not throw. */
  onEvent?: (event: CgiEvent) => void;
}

/** Options after validation, with defaults applied. Internal. */
export interface CgiConfig {
  readonly root: string | undefined;
  readonly rootReal: string | undefined;
  readonly script: string | undefined;
  readonly scriptReal: string | undefined;
  readonly mountPath: string;
  readonly interpreters: ReadonlyMap<string, readonly string[]>;
  readonly index: readonly string[];
  readonly env: CgiOptions['env'];
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly passAuthorization: boolean;
  readonly trustProxy: (address: string) => boolean;
  readonly timeout: number;
  readonly killGrace: number;
  readonly maxConcurrent: number;
  readonly maxRequestBody: number;
  readonly chunkedRequests: CgiChunkedMode;
  readonly maxResponseHeaderBytes: number;
  readonly localRedirects: boolean;
  readonly commandArgs: boolean;
  readonly nph: boolean;
  readonly logger: CgiLogger;
  /** `DOCUMENT_ROOT`: the configured document root, else the script root. */
  readonly documentRoot: string | undefined;
  /** Set only when `documentRoot` was configured: `PATH_TRANSLATED` maps into it. */
  readonly translateRoot: string | undefined;
  readonly onEvent: ((event: CgiEvent) => void) | undefined;
}

const KNOWN_OPTIONS = new Set([
  'root',
  'script',
  'mountPath',
  'interpreters',
  'index',
  'env',
  'inheritEnv',
  'passAuthorization',
  'trustProxy',
  'timeout',
  'killGrace',
  'maxConcurrent',
  'maxRequestBody',
  'chunkedRequests',
  'maxResponseHeaderBytes',
  'localRedirects',
  'commandArgs',
  'nph',
  'logger',
  'documentRoot',
  'onEvent',
]);

const POSIX_INHERIT = ['LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR'];
const WINDOWS_INHERIT = ['SYSTEMROOT', 'COMSPEC', 'PATHEXT', 'WINDIR'];

function fail(name: string, expected: string, value: unknown): never {
  let shown: string;
  try {
    shown = typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = String(value);
  }
  throw new TypeError(`cgibridge: option "${name}" must be ${expected} (got ${shown})`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function bool(options: CgiOptions, name: keyof CgiOptions, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(name, 'true or false', value);
  return value;
}

function amount(
  options: CgiOptions,
  name: keyof CgiOptions,
  fallback: number,
  { min = 1, infinite = false, unit }: { min?: number; infinite?: boolean; unit: string },
): number {
  const value = options[name];
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= min) || (infinite && value === Number.POSITIVE_INFINITY));
  if (!ok) fail(name, `an integer >= ${min} (${unit})${infinite ? ' or Infinity' : ''}`, value);
  return value as number;
}

function existing(name: string, path: unknown, kind: 'file' | 'directory'): { path: string; real: string } {
  if (typeof path !== 'string' || path === '') fail(name, `a path to a ${kind}`, path);
  const absolute = resolve(path);
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(absolute);
  } catch {
    fail(name, `an existing ${kind}`, path);
  }
  if (kind === 'file' ? !stats.isFile() : !stats.isDirectory()) fail(name, `a ${kind}`, path);
  return { path: absolute, real: realpathSync(absolute) };
}

function mountPathOf(value: unknown): string {
  if (value === undefined) return '';
  if (
    typeof value !== 'string' ||
    (value !== '' && !value.startsWith('/')) ||
    /[?#%\\\0\s]/.test(value) ||
    value.split('/').some((segment) => segment.startsWith('.'))
  ) {
    fail('mountPath', 'a URL path starting with "/" without "?", "#", "%", "\\", blanks or dot segments', value);
  }
  // '/cgi-bin/' and '/cgi-bin' mean the same mount; '/' is the whole site.
  return value.replace(/\/+$/, '');
}

function interpretersOf(value: unknown): Map<string, readonly string[]> {
  const map = new Map<string, readonly string[]>();
  if (value === undefined) return map;
  if (!isPlainObject(value)) fail('interpreters', 'an object of extension -> command, e.g. {".py": "python3"}', value);
  for (const [ext, command] of Object.entries(value)) {
    if (!/^\.[A-Za-z0-9_+-]+$/.test(ext)) fail(`interpreters["${ext}"]`, 'keyed by an extension like ".py"', ext);
    const argv = typeof command === 'string' ? [command] : command;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((part) => typeof part !== 'string' || part === '')) {
      fail(`interpreters["${ext}"]`, 'a command string or a non-empty array of strings', command);
    }
    map.set(ext.toLowerCase(), [...(argv as string[])]);
  }
  return map;
}

function stringList(name: string, value: unknown, check: (item: string) => boolean, expected: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || !check(item))) {
    fail(name, expected, value);
  }
  return [...(value as string[])];
}

function trustProxyOf(value: unknown): (address: string) => boolean {
  if (value === undefined || value === false) return () => false;
  if (value === true) return () => true;
  if (typeof value === 'function') return value as (address: string) => boolean;
  const expected = 'true, false, a function, or a list of IP addresses and CIDR ranges';
  if (!Array.isArray(value)) fail('trustProxy', expected, value);
  const list = new BlockList();
  for (const entry of value) {
    if (typeof entry !== 'string') fail('trustProxy', expected, value);
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0) fail('trustProxy', expected, entry);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) {
      list.addAddress(address, type);
    } else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (family === 6 ? 128 : 32)) fail('trustProxy', expected, entry);
      list.addSubnet(address, prefix, type);
    }
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

function loggerOf(value: unknown): CgiLogger {
  if (value === undefined) return consoleLogger;
  if (value === false) return silentLogger;
  const methods = ['debug', 'info', 'warn', 'error'] as const;
  if (
    typeof value !== 'object' ||
    value === null ||
    methods.some((m) => typeof (value as CgiLogger)[m] !== 'function')
  ) {
    fail('logger', 'false or an object with debug, info, warn and error methods', value);
  }
  const logger = value as CgiLogger;
  // Bind once so pino-style loggers keep their `this`.
  return {
    debug: logger.debug.bind(logger),
    info: logger.info.bind(logger),
    warn: logger.warn.bind(logger),
    error: logger.error.bind(logger),
  };
}

function baseEnvOf(inheritEnv: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', ...inheritEnv]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Validates options once, when a handler is created, and applies defaults.
 * @throws TypeError naming the option and the expected form.
 */
export function resolveCgiOptions(options: CgiOptions): CgiConfig {
  const given: unknown = options;
  if (!isPlainObject(given)) fail('options', 'an object', given);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new TypeError(`cgibridge: unknown option "${key}" (known: ${[...KNOWN_OPTIONS].join(', ')})`);
    }
  }
  if ((options.root === undefined) === (options.script === undefined)) {
    throw new TypeError('cgibridge: exactly one of the options "root" (a directory) and "script" (a file) is required');
  }
  const root = options.root === undefined ? undefined : existing('root', options.root, 'directory');
  const script = options.script === undefined ? undefined : existing('script', options.script, 'file');

  if (options.env !== undefined && typeof options.env !== 'function') {
    if (
      !isPlainObject(options.env) ||
      Object.values(options.env).some((v) => typeof v !== 'string' || v.includes('\0'))
    ) {
      fail('env', 'an object of string values, or a function of the request', options.env);
    }
  }
  const windows = process.platform === 'win32';
  const inheritEnv =
    options.inheritEnv === undefined
      ? windows
        ? [...POSIX_INHERIT, ...WINDOWS_INHERIT]
        : POSIX_INHERIT
      : stringList(
          'inheritEnv',
          options.inheritEnv,
          (n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n),
          'a list of variable names',
        );
  const index =
    options.index === undefined
      ? []
      : stringList(
          'index',
          options.index,
          (n) => n !== '' && !/[/\\\0]/.test(n) && !n.startsWith('.'),
          'a list of file names (no "/", not hidden)',
        );
  const chunked = options.chunkedRequests ?? 'buffer';
  if (!['buffer', 'stream', 'reject'].includes(chunked)) {
    fail('chunkedRequests', '"buffer", "stream" or "reject"', chunked);
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function')
    fail('onEvent', 'a function', options.onEvent);
  const documentRoot =
    options.documentRoot === undefined ? undefined : existing('documentRoot', options.documentRoot, 'directory').path;

  return {
    root: root?.path,
    rootReal: root?.real,
    script: script?.path,
    scriptReal: script?.real,
    mountPath: mountPathOf(options.mountPath),
    interpreters: interpretersOf(options.interpreters),
    index,
    env: options.env,
    baseEnv: baseEnvOf(inheritEnv),
    passAuthorization: bool(options, 'passAuthorization', false),
    trustProxy: trustProxyOf(options.trustProxy),
    timeout: amount(options, 'timeout', 30_000, { infinite: true, unit: 'milliseconds' }),
    killGrace: amount(options, 'killGrace', 2_000, { min: 0, unit: 'milliseconds' }),
    maxConcurrent: amount(options, 'maxConcurrent', 64, { infinite: true, unit: 'scripts' }),
    maxRequestBody: amount(options, 'maxRequestBody', 10 * 1024 * 1024, { min: 0, infinite: true, unit: 'bytes' }),
    chunkedRequests: chunked,
    maxResponseHeaderBytes: amount(options, 'maxResponseHeaderBytes', 64 * 1024, { min: 16, unit: 'bytes' }),
    localRedirects: bool(options, 'localRedirects', true),
    commandArgs: bool(options, 'commandArgs', false),
    nph: bool(options, 'nph', false),
    logger: loggerOf(options.logger),
    documentRoot: documentRoot ?? root?.path ?? (script ? dirname(script.path) : undefined),
    translateRoot: documentRoot,
    onEvent: options.onEvent,
  };
}
