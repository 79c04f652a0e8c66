import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import type { CgiEvent } from './events.js';
import { type CgiLog, type CgiLogFormat, type CgiLogTarget, createCgiLog, LOG_FORMATS } from './log.js';
import type { CgiLogger } from './logger.js';
import {
  amount,
  bool,
  CgiOptionError,
  credentialsOf,
  existing,
  isPlainObject,
  oneOf,
  stringList,
  trustProxyOf,
} from './option-checks.js';
import { type CgiOverride, type CgiResolvedOverride, overridesOf } from './overrides.js';
import type { CgiRequest } from './request.js';
import type { CgiResourceLimits, CgiSpawner } from './spawner.js';
import { type CgiWarmConfig, type CgiWarmSettings, warmOf } from './warm-option.js';

/** How to handle a request body sent with `Transfer-Encoding: chunked` (no length known in advance). */
export const CHUNKED_MODES = ['buffer', 'stream', 'reject'] as const;
/** {@link CHUNKED_MODES} as a type. */
export type CgiChunkedMode = (typeof CHUNKED_MODES)[number];
/** Which proxy header family a trusted proxy writes (the other is never believed). */
export const FORWARDED_HEADERS = ['x-forwarded', 'forwarded'] as const;
/** {@link FORWARDED_HEADERS} as a type. */
export type CgiForwardedHeaders = (typeof FORWARDED_HEADERS)[number];
/** Which spawner starts scripts: `auto` takes the native one when it loads, else `child_process`. */
export const SPAWNER_MODES = ['auto', 'native', 'child_process'] as const;
/** {@link SPAWNER_MODES} as a type. */
export type CgiSpawnerMode = (typeof SPAWNER_MODES)[number];

/** One option: its summary (README, CLI help), documented default, and how a value is checked and defaulted. */
interface OptionSpec<In, Out> {
  readonly summary: string;
  readonly default: string;
  readonly resolve: (value: In | undefined) => Out;
}
const option = <In, Out>(spec: OptionSpec<In, Out>): OptionSpec<In, Out> => spec;

const MiB = 1024 * 1024;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Every option of the gateway, defined once: {@link CgiOptions} (the input) and
 * {@link CgiConfig} (validated, defaulted) are derived from this table, the CLI maps its
 * flags from it, and the README's option table is checked against it by a test.
 */
export const CGI_OPTIONS = {
  /** Directory of scripts; the first URL segment that names a file under it is the script (RFC 3875 §3.3). */
  root: option<string, { path: string; real: string } | undefined>({
    summary: 'directory of scripts; the first URL segment naming a file under it is the script',
    default: '—',
    resolve: (value) => (value === undefined ? undefined : existing('root', value, 'directory')),
  }),
  /** One script that receives every URL below the mount; the rest of the path is `PATH_INFO` (front controller). */
  script: option<string, { path: string; real: string } | undefined>({
    summary: 'one script receiving every URL below the mount (front controller); exactly one of `root`/`script`',
    default: '—',
    resolve: (value) => (value === undefined ? undefined : existing('script', value, 'file')),
  }),
  /** URL prefix the gateway answers under, matched on whole segments. Default `''` (the whole site). */
  mountPath: option<string, string>({
    summary: 'URL prefix, matched on whole segments (`/cgi-bin` never matches `/cgi-binX`)',
    default: "`''`",
    resolve: mountPathOf,
  }),
  /**
   * Interpreter per file extension, as a command name or `[command, ...args]`; the script path is
   * appended. Without a mapping a file runs directly (its shebang line). Default `{}`.
   * @example `{ '.py': 'python3', '.pl': ['perl', '-T'] }`
   */
  interpreters: option<Record<string, string | readonly string[]>, ReadonlyMap<string, readonly string[]>>({
    summary: "extension → command (`'python3'` or `['perl', '-T']`); otherwise the file runs by its shebang",
    default: '`{}`',
    resolve: interpretersOf,
  }),
  /** Script names to run for a directory URL (`/cgi-bin/app/`). Default `[]`: directories are never served. */
  index: option<readonly string[], readonly string[]>({
    summary: 'scripts to run for a directory URL; directories are never listed',
    default: '`[]`',
    resolve: (value) =>
      value === undefined
        ? []
        : stringList(
            'index',
            value,
            (n) => n !== '' && !/[/\\\0]/.test(n) && !n.startsWith('.'),
            'a list of file names',
          ),
  }),
  /** Extra environment for every script, or a function of the request returning it. Undefined values unset. */
  env: option<
    Record<string, string> | ((request: CgiRequest) => Record<string, string | undefined>),
    Record<string, string> | ((request: CgiRequest) => Record<string, string | undefined>) | undefined
  >({
    summary: 'extra variables, an object or `(request) => object` (`undefined` unsets)',
    default: '—',
    resolve: envOf,
  }),
  /**
   * Names of the server's own environment variables passed on to scripts (as Go's `net/http/cgi`).
   * `PATH` is always passed unless `env` sets it. Default: `LANG`, `LC_ALL`, `LC_CTYPE`, `TZ`, `TMPDIR`.
   */
  inheritEnv: option<readonly string[], readonly string[]>({
    summary: 'server variables passed on; `PATH` always is',
    default: '`LANG LC_ALL LC_CTYPE TZ TMPDIR`',
    resolve: (value) =>
      value === undefined
        ? ['LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR']
        : stringList('inheritEnv', value, (n) => NAME.test(n), 'a list of variable names'),
  }),
  /** Pass the `Authorization` header as `HTTP_AUTHORIZATION` (Apache's `CGIPassAuth`). Default `false`. */
  passAuthorization: option<boolean, boolean>({
    summary: "pass `Authorization` as `HTTP_AUTHORIZATION` (Apache's CGIPassAuth)",
    default: '`false`',
    resolve: (value) => bool('passAuthorization', value, false),
  }),
  /**
   * Which peers are trusted proxies whose forwarded headers (see `forwardedHeaders`) are believed for
   * `REMOTE_ADDR`, `HTTPS` and `SERVER_NAME`: `true` (any peer), a list of addresses and CIDR ranges, or
   * a predicate. Default `false`: forwarded headers only become `HTTP_X_FORWARDED_*` / `HTTP_FORWARDED`.
   */
  trustProxy: option<boolean | readonly string[] | ((address: string) => boolean), (address: string) => boolean>({
    summary: '`true`, addresses/CIDR list or predicate: the proxies whose `forwardedHeaders` to believe',
    default: '`false`',
    resolve: trustProxyOf,
  }),
  /**
   * The header family the trusted proxy writes: `'x-forwarded'` (`X-Forwarded-For/-Proto/-Host`, nginx's
   * and most proxies' default) or `'forwarded'` (RFC 7239). Only that family is believed; the other
   * passes through from the client untouched and is never read. Default `'x-forwarded'`.
   */
  forwardedHeaders: option<CgiForwardedHeaders, CgiForwardedHeaders>({
    summary: "which header family the trusted proxy writes: `'x-forwarded'` or `'forwarded'` (RFC 7239)",
    default: "`'x-forwarded'`",
    resolve: (value) => oneOf('forwardedHeaders', value, FORWARDED_HEADERS, 'x-forwarded'),
  }),
  /**
   * Pins `SERVER_NAME` (Apache's `UseCanonicalName On`): scripts that build links from it never see a
   * client-chosen host. Default: from the `Host` header.
   */
  serverName: option<string, string | undefined>({
    summary: "pins `SERVER_NAME` instead of taking it from `Host` (Apache's UseCanonicalName)",
    default: 'from `Host`',
    resolve: (value) => hostNameOf('serverName', value),
  }),
  /** Pins `SERVER_PORT`. Default: the local port of the connection. */
  serverPort: option<number, number | undefined>({
    summary: "pins `SERVER_PORT` instead of the connection's local port",
    default: 'local port',
    resolve: (value) => (value === undefined ? undefined : amount('serverPort', value, 0, { unit: 'a TCP port' })),
  }),
  /** Host names (without port) a request may name; any other `Host` is answered 400. Default: any. */
  allowedHosts: option<readonly string[], ReadonlySet<string> | undefined>({
    summary: 'host names a request may carry in `Host`; others get 400',
    default: 'any',
    resolve: (value) =>
      value === undefined
        ? undefined
        : new Set(
            stringList(
              'allowedHosts',
              value,
              (h) => hostNameOf('allowedHosts', h) !== undefined,
              'a list of host names',
            ).map((h) => h.toLowerCase()),
          ),
  }),
  /** Wall-clock limit per script in ms (504 before headers, aborted response after). Default `30000`. */
  timeout: option<number, number>({
    summary: 'ms per script, upload included: 504 before headers, aborted response after; `Infinity` disables',
    default: '`30000`',
    resolve: (value) => amount('timeout', value, 30_000, { infinite: true, unit: 'milliseconds' }),
  }),
  /**
   * Milliseconds between SIGTERM and SIGKILL when a script's process group is killed, and how long
   * output is still forwarded after the script exited while something else holds its stdout. Default `2000`.
   */
  killGrace: option<number, number>({
    summary: 'ms between SIGTERM and SIGKILL; also how long a background job may keep stdout open after exit',
    default: '`2000`',
    resolve: (value) => amount('killGrace', value, 2_000, { min: 0, unit: 'milliseconds' }),
  }),
  /** Scripts running at once per gateway (the overlapping hops of a local-redirect chain count once); more are answered 503. Default `64`. */
  maxConcurrent: option<number, number>({
    summary:
      'scripts running at once (the overlapping hops of a local-redirect chain count once); more get 503 with `Retry-After: 1`',
    default: '`64`',
    resolve: (value) => amount('maxConcurrent', value, 64, { infinite: true, unit: 'scripts' }),
  }),
  /**
   * Largest request body in bytes (413 beyond). Default 1 GiB, Apache's `LimitRequestBody` default: a
   * streamed body costs no memory, and legacy upload scripts take big files. `Infinity` lifts the limit.
   */
  maxRequestBody: option<number, number>({
    summary: "bytes; 413 (before spawning when `Content-Length` says so); `Infinity` lifts it; Apache's default",
    default: '`1073741824` (1 GiB)',
    resolve: (value) => amount('maxRequestBody', value, 1024 * MiB, { min: 0, infinite: true, unit: 'bytes' }),
  }),
  /** Chunked request bodies: buffer to compute `CONTENT_LENGTH` (default), stream without it, or reject with 411. */
  chunkedRequests: option<CgiChunkedMode, CgiChunkedMode>({
    summary: "chunked uploads: `'buffer'` (so `CONTENT_LENGTH` is set), `'stream'` (no length), `'reject'` (411)",
    default: "`'buffer'`",
    resolve: (value) => oneOf('chunkedRequests', value, CHUNKED_MODES, 'buffer'),
  }),
  /** Where chunked bodies past 1 MiB are spooled (private files, unlinked at once). Default: the OS temp dir. */
  spoolDirectory: option<string, string>({
    summary: 'where chunked bodies past 1 MiB are spooled (0600 files, unlinked as soon as opened)',
    default: 'OS temp dir',
    resolve: (value) => (value === undefined ? tmpdir() : existing('spoolDirectory', value, 'directory').real),
  }),
  /** Bytes all spooled bodies may take together; a body that would pass it gets 503. Default 1 GiB. */
  spoolBudget: option<number, number>({
    summary: 'bytes all spooled chunked bodies may hold at once; beyond, 503 with `Retry-After`',
    default: '`1073741824` (1 GiB)',
    resolve: (value) => amount('spoolBudget', value, 1024 * MiB, { min: 0, infinite: true, unit: 'bytes' }),
  }),
  /** Largest header block a script may print, in bytes. Default 64 KiB. */
  maxResponseHeaderBytes: option<number, number>({
    summary: 'largest header block a script may print',
    default: '`65536`',
    resolve: (value) => amount('maxResponseHeaderBytes', value, 64 * 1024, { min: 16, unit: 'bytes' }),
  }),
  /** Follow RFC 3875 §6.2.2 local redirects inside the server (at most 10 hops). Default `true`. */
  localRedirects: option<boolean, boolean>({
    summary: 'answer `Location: /path` (and nothing else) internally, at most 10 hops',
    default: '`true`',
    resolve: (value) => bool('localRedirects', value, true),
  }),
  /** Turn a query string without `=` into argv (RFC 3875 §4.4), GET/HEAD only. Default `false`. */
  commandArgs: option<boolean, boolean>({
    summary: 'turn an indexed query (no `=`) into argv (RFC 3875 §4.4), refusing `-` and non-ASCII',
    default: '`false`',
    resolve: (value) => bool('commandArgs', value, false),
  }),
  /** Let `nph-*` scripts start their output with an HTTP status line. Default `false`. */
  nph: option<boolean, boolean>({
    summary: 'let `nph-*` scripts start with an `HTTP/1.x NNN` status line',
    default: '`false`',
    resolve: (value) => bool('nph', value, false),
  }),
  /**
   * Per-script resource limits (Apache's `RLimitCPU`, `RLimitMEM`, `RLimitNPROC`): CPU seconds, bytes of
   * address space, processes of the script's user (the kernel does not apply that one to root).
   * Default: none.
   */
  limits: option<CgiResourceLimits, CgiResourceLimits | undefined>({
    summary: '`{ cpuSeconds, memoryBytes, processes }` per script (RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC)',
    default: 'none',
    resolve: limitsOf,
  }),
  /**
   * Run scripts as this user (Apache's `User`/`Group`, suexec): a name from /etc/passwd or
   * `UID:GID`; supplementary groups are dropped. Needs a server started as root. Default: the server's user.
   */
  runAs: option<string, { uid: number; gid: number; name: string } | undefined>({
    summary: 'run scripts as this user: a name or `UID:GID` (the server must start as root)',
    default: "the server's user",
    resolve: credentialsOf,
  }),
  /**
   * Which spawner starts scripts: `'native'` (a vfork-style spawn from the optional
   * `@cgibridge/native`; fails at creation when it cannot load), `'child_process'`, `'auto'` (native
   * when it loads, else child_process, saying why once), or a {@link CgiSpawner} of your own (a test
   * double, a custom sandbox). Default: `$CGIBRIDGE_SPAWNER`, else `'auto'`.
   */
  spawner: option<CgiSpawnerMode | CgiSpawner, CgiSpawnerMode | CgiSpawner>({
    summary: "`'auto'`, `'native'`, `'child_process'` or a `CgiSpawner`; `$CGIBRIDGE_SPAWNER` sets the default",
    default: "`'auto'`",
    resolve: spawnerOf,
  }),
  /**
   * Where log lines go: `{ debug, info, warn, error }` taking a message (console, winston), a pino
   * logger (detected: it gets `(fields, message)`), or `false` to silence them. Default: the console.
   */
  logger: option<CgiLogger | false, CgiLogTarget>({
    summary: '`{ debug, info, warn, error }`, a pino logger (gets fields + message), or `false`',
    default: 'console',
    resolve: loggerOf,
  }),
  /**
   * How each line is written: `'text'` (`time LEVEL reqId message`, control characters escaped),
   * `'json'` (one pino-compatible object per line: `level` number, `time` epoch ms, `reqId`, `msg`...)
   * or `'pino'` (the logger takes `(fields, message)`). Default: `'pino'` for a pino logger, else `'text'`.
   */
  logFormat: option<CgiLogFormat, CgiLogFormat | undefined>({
    summary: "`'text'`, `'json'` (pino-compatible lines) or `'pino'` (the logger takes fields + message)",
    default: "`'pino'` for pino, else `'text'`",
    resolve: (value) => (value === undefined ? undefined : oneOf('logFormat', value, LOG_FORMATS, 'text')),
  }),
  /**
   * Log one line per request at info: client, method, target, status, duration, bytes in and out,
   * the script's exit status, and the request id its other lines carry. Default `false`.
   */
  accessLog: option<boolean, boolean>({
    summary: 'one info line per request: client, method, target, status, duration, bytes in/out, exit status',
    default: '`false`',
    resolve: (value) => bool('accessLog', value, false),
  }),
  /**
   * Development mode: a 5xx caused by a script answers with a page (HTML, or plain text when the
   * client does not accept HTML) showing the diagnosis, the script's first output bytes, its last
   * stderr lines and its exit status. Never in production: it shows clients what the log would.
   * Default `false`: every error gets the short generic body.
   */
  debug: option<boolean, boolean>({
    summary: "development error page for a script's 5xx (diagnosis, output, stderr, exit); never in production",
    default: '`false`',
    resolve: (value) => bool('debug', value, false),
  }),
  /** `DOCUMENT_ROOT`, and the directory `PATH_TRANSLATED` maps `PATH_INFO` into. Default: the script root. */
  documentRoot: option<string, string | undefined>({
    summary: '`DOCUMENT_ROOT`, and where `PATH_TRANSLATED` maps `PATH_INFO`',
    default: 'script root',
    resolve: (value) => (value === undefined ? undefined : existing('documentRoot', value, 'directory').path),
  }),
  /**
   * Warm start for Python scripts: a pre-started interpreter (a zygote) per real Python binary forks
   * once per request, so a script skips the interpreter's start-up (2.5-5x faster) while still
   * running in a fresh process of its own. Per extension: `true` or settings (recycling,
   * exclusions). Whatever warm cannot reproduce exactly (interpreter flags, a virtualenv,
   * another environment at start-up) runs cold, unchanged; `limits` and `runAs` are applied by
   * the forked child before the script runs. Default: off.
   * @example `{ '.py': true, '.cgi': { exclude: ['admin/**'] } }`
   */
  warm: option<Record<string, boolean | CgiWarmSettings> | false, CgiWarmConfig | undefined>({
    summary: 'warm start for Python scripts per extension (`{ ".py": true }`): a zygote forks once per request',
    default: 'off',
    resolve: warmOf,
  }),
  /**
   * Settings per script path, as Apache's `<Directory>`/`<Files>` blocks: `timeout`,
   * `maxRequestBody`, `env` and `interpreters` for the scripts whose path under the root matches a
   * glob. Default `[]`.
   * @example `[{ match: 'reports/**', timeout: 300_000 }, { match: '*.cgi', interpreters: { '.cgi': 'perl' } }]`
   */
  overrides: option<readonly CgiOverride[], readonly CgiResolvedOverride[]>({
    summary: 'per-path settings by glob under the root: `timeout`, `maxRequestBody`, `env`, `interpreters`',
    default: '`[]`',
    resolve: (value) => overridesOf(value, resolveNamed),
  }),
  /** Observe each request: `spawn`, `headers` and `end` (exit code, duration, bytes). Must not throw. */
  onEvent: option<(event: CgiEvent) => void, ((event: CgiEvent) => void) | undefined>({
    summary: 'per request: `spawn`, `headers`, `end` (status, exit code, signal, duration, bytes in/out)',
    default: '—',
    resolve: (value) => {
      if (value !== undefined && typeof value !== 'function') throw new CgiOptionError('onEvent', 'a function', value);
      return value;
    },
  }),
};

type Table = typeof CGI_OPTIONS;
type InputOf<S> = S extends OptionSpec<infer In, unknown> ? In : never;
type OutputOf<S> = S extends OptionSpec<never, infer Out> ? Out : never;

/** Options of {@link createCgiHandler} and {@link createCgiGateway}. Exactly one of `root` and `script` is required. */
export type CgiOptions = { [K in keyof Table]?: InputOf<Table[K]> };

/** Options after validation, with defaults applied, plus what is derived from them. */
export type CgiConfig = { readonly [K in Exclude<keyof Table, 'logger'>]: OutputOf<Table[K]> } & {
  /** What the gateway logs through: the `logger` option in the `logFormat` format. */
  readonly logger: CgiLog;
  /** The directory scripts are confined to: the root, or the front controller's directory. */
  readonly scriptRoot: { readonly path: string; readonly real: string };
  /** `PATH` and the `inheritEnv` variables, read once from the server's environment. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** `DOCUMENT_ROOT` and the base of `PATH_TRANSLATED`: `documentRoot`, else the script root. */
  readonly docRoot: string;
  /** This script's path said `warm: true` or `false` (`overrides`); `undefined`: its extension decides. */
  readonly warmHere?: boolean | undefined;
};

/** Resolves one option's value by name: per-path overrides reuse the global options' checks. */
function resolveNamed(name: 'timeout' | 'maxRequestBody' | 'env' | 'interpreters', value: unknown): unknown {
  return (CGI_OPTIONS[name].resolve as (value: unknown) => unknown)(value);
}

function mountPathOf(value: unknown): string {
  if (value === undefined) return '';
  if (
    typeof value !== 'string' ||
    (value !== '' && !value.startsWith('/')) ||
    /[?#%\\\0\s]/.test(value) ||
    value.split('/').some((segment) => segment.startsWith('.'))
  ) {
    throw new CgiOptionError(
      'mountPath',
      'a URL path starting with "/" without "?", "#", "%", "\\", blanks or dot segments',
      value,
    );
  }
  // '/cgi-bin/' and '/cgi-bin' mean the same mount; '/' is the whole site.
  return value.replace(/\/+$/, '');
}

function interpretersOf(value: unknown): Map<string, readonly string[]> {
  const map = new Map<string, readonly string[]>();
  if (value === undefined) return map;
  if (!isPlainObject(value)) {
    throw new CgiOptionError('interpreters', 'an object of extension -> command, e.g. {".py": "python3"}', value);
  }
  for (const [ext, command] of Object.entries(value)) {
    const name = `interpreters["${ext}"]`;
    if (!/^\.[A-Za-z0-9_+-]+$/.test(ext)) throw new CgiOptionError(name, 'keyed by an extension like ".py"', ext);
    const argv = typeof command === 'string' ? [command] : command;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((part) => typeof part !== 'string' || part === '')) {
      throw new CgiOptionError(name, 'a command string or a non-empty array of strings', command);
    }
    map.set(ext.toLowerCase(), [...(argv as string[])]);
  }
  return map;
}

function envOf(value: unknown): Table['env'] extends OptionSpec<never, infer Out> ? Out : never {
  if (value === undefined || typeof value === 'function') return value as undefined;
  if (!isPlainObject(value) || Object.values(value).some((v) => typeof v !== 'string' || v.includes('\0'))) {
    throw new CgiOptionError('env', 'an object of string values, or a function of the request', value);
  }
  return value as Record<string, string>;
}

const HOST_NAME = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\])$/;

function hostNameOf(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !HOST_NAME.test(value)) throw new CgiOptionError(name, 'a host name', value);
  return value.toLowerCase();
}

function limitsOf(value: unknown): CgiResourceLimits | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value))
    throw new CgiOptionError('limits', 'an object { cpuSeconds, memoryBytes, processes }', value);
  const known = ['cpuSeconds', 'memoryBytes', 'processes'];
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new CgiOptionError(`limits.${key}`, `one of ${known.join(', ')}`, key);
  }
  const get = (key: string, unit: string) =>
    value[key] === undefined ? undefined : amount(`limits.${key}`, value[key], 0, { unit });
  return {
    cpuSeconds: get('cpuSeconds', 'seconds'),
    memoryBytes: get('memoryBytes', 'bytes'),
    processes: get('processes', 'processes'),
  };
}

function spawnerOf(value: unknown): CgiSpawnerMode | CgiSpawner {
  if (typeof value === 'object' && value !== null && typeof (value as CgiSpawner).spawn === 'function') {
    return value as CgiSpawner;
  }
  const name = value === undefined ? 'CGIBRIDGE_SPAWNER' : 'spawner';
  return oneOf(name, value ?? process.env.CGIBRIDGE_SPAWNER, SPAWNER_MODES, 'auto');
}

function loggerOf(value: unknown): CgiLogTarget {
  if (value === undefined) return { kind: 'console' };
  if (value === false) return { kind: 'silent' };
  const methods = ['debug', 'info', 'warn', 'error'] as const;
  if (
    typeof value !== 'object' ||
    value === null ||
    methods.some((m) => typeof (value as CgiLogger)[m] !== 'function')
  ) {
    throw new CgiOptionError('logger', 'false or an object with debug, info, warn and error methods', value);
  }
  return { kind: 'logger', logger: value as CgiLogger };
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
 * Validates options once, when a gateway is created, and applies defaults.
 * @throws CgiOptionError (a TypeError) naming the option and the expected form.
 */
export function resolveCgiOptions(options: CgiOptions): CgiConfig {
  const given: unknown = options;
  if (!isPlainObject(given)) throw new CgiOptionError('options', 'an object', given);
  const names = Object.keys(CGI_OPTIONS) as Array<keyof Table>;
  for (const key of Object.keys(given)) {
    if (!(names as string[]).includes(key)) {
      const known = names.join(', ');
      throw new CgiOptionError(
        key,
        `a known option`,
        given[key],
        undefined,
        `unknown option "${key}" (known: ${known})`,
      );
    }
  }
  const resolved: Record<string, unknown> = {};
  for (const name of names) {
    const spec = CGI_OPTIONS[name] as OptionSpec<unknown, unknown>;
    resolved[name] = spec.resolve(given[name]);
  }
  const config = resolved as { [K in keyof Table]: OutputOf<Table[K]> };
  if ((config.root === undefined) === (config.script === undefined)) {
    const message = 'exactly one of the options "root" (a directory) and "script" (a file) is required';
    throw new CgiOptionError('root', 'given, or else "script"', given.root, undefined, message);
  }
  const scriptRoot = config.root ?? {
    path: dirname((config.script as { path: string }).path),
    real: dirname((config.script as { real: string }).real),
  };
  return {
    ...config,
    logger: createCgiLog(config.logger, config.logFormat),
    scriptRoot,
    baseEnv: baseEnvOf(config.inheritEnv),
    docRoot: config.documentRoot ?? scriptRoot.path,
  };
}
