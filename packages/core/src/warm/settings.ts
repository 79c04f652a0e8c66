import { globToRegExp } from '../glob.js';
/**
 * Settings of the warm Python start ({@link createWarmSpawner}): which scripts are candidates,
 * when a zygote is replaced, and the environment zygotes start with.
 *
 * @example
 * ```ts
 * const spawner = createWarmSpawner(createChildProcessSpawner(), {
 *   baseEnv: config.baseEnv,
 *   extensions: ['.py', '.cgi'],
 *   exclude: ['upload-*.py', '/srv/cgi-bin/admin/**'],
 * }, logger);
 * ```
 */
export interface WarmPythonSettings {
  /**
   * The scripts' base environment: `PATH` plus the allow-listed variables (the gateway's
   * `config.baseEnv`). Zygotes start with exactly this environment, never the server's, and a
   * request whose start-up variables (`PYTHON*`, `LANG`, `LC_*`, `TZ`, `HOME`, ...) differ from
   * it runs cold. Required.
   */
  readonly baseEnv: Readonly<Record<string, string>>;
  /**
   * File extensions (with the dot, any case; `''` for none) whose scripts are candidates. The
   * extension only selects candidates: a script runs warm only when the interpreter it would
   * really run (its shebang line, or the interpreter mapped to its extension) is a real Python.
   * Default `['.py']`.
   */
  readonly extensions?: readonly string[] | undefined;
  /**
   * Scripts that always run cold. A string is a glob (`*` and `?` within a path segment, `**`
   * across segments) matched against the script's real path when it holds a `/`, else against
   * its file name; a RegExp is tested against the real path. Default `[]`.
   */
  readonly exclude?: readonly (string | RegExp)[] | undefined;
  /**
   * Requests a zygote serves before it is replaced (all its children share one hash secret and
   * one preloaded state). Default 1000.
   */
  readonly maxRequests?: number | undefined;
  /** Milliseconds a zygote serves before it is replaced. Default 600000 (10 minutes). */
  readonly maxAgeMs?: number | undefined;
  /**
   * At most how often, in milliseconds, the files a zygote has loaded (the interpreter, the
   * preloaded modules, `sys.path` directories, `.pth` files), the interpreter lookups and the
   * script directories are checked for changes. Default 1000.
   */
  readonly checkIntervalMs?: number | undefined;
  /** Milliseconds a starting zygote may take to preload and report ready before it is killed. Default 10000. */
  readonly startTimeoutMs?: number | undefined;
  /**
   * Milliseconds a zygote may take to report a forked child; after that it counts as stuck: it
   * is killed and the request runs cold. Default 3000.
   */
  readonly forkTimeoutMs?: number | undefined;
  /**
   * Standard-library modules the zygote imports once (a module whose import warns or registers
   * an atexit handler is skipped: the script's own import must do that). Default
   * {@link DEFAULT_PRELOAD}.
   */
  readonly preload?: readonly string[] | undefined;
}

/**
 * The default preload: what `cgi` and `cgitb` import (not those two: their import prints a
 * DeprecationWarning a cold run prints), and cheap modules CGI scripts commonly use. Every
 * preloaded megabyte makes each fork and exit dearer, so nothing heavy that few scripts need
 * (decimal, pathlib, subprocess, typing...), and nothing that loads OpenSSL (hashlib), starts
 * threads or registers atexit handlers.
 */
export const DEFAULT_PRELOAD: readonly string[] = [
  // cgi
  'io',
  'collections.abc',
  'urllib.parse',
  'email.parser',
  'email.message',
  'email.feedparser',
  'html',
  'locale',
  'tempfile',
  'warnings',
  // cgitb
  'inspect',
  'keyword',
  'linecache',
  'pydoc',
  'tokenize',
  'traceback',
  'time',
  // common in CGI scripts, and (but for http.cookies and html.parser) already loaded by the above
  'base64',
  'binascii',
  'calendar',
  'collections',
  'datetime',
  'email.utils',
  'html.entities',
  'html.parser',
  'http.cookies',
  'json',
  'random',
  're',
  'string',
  'textwrap',
];

/** {@link WarmPythonSettings} with every default applied. */
export interface WarmPythonConfig {
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly extensions: ReadonlySet<string>;
  readonly exclude: readonly RegExp[];
  /** For each exclude pattern: whether it applies to the file name only. */
  readonly excludeByName: readonly boolean[];
  readonly maxRequests: number;
  readonly maxAgeMs: number;
  readonly checkIntervalMs: number;
  readonly startTimeoutMs: number;
  readonly forkTimeoutMs: number;
  readonly preload: readonly string[];
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) {
    throw new TypeError(`cgibridge: warm setting "${name}" must be a positive number (got ${String(value)})`);
  }
  return value;
}

/**
 * Validates the settings and applies the defaults.
 * @throws TypeError naming the setting.
 */
export function resolveWarmSettings(settings: WarmPythonSettings): WarmPythonConfig {
  if (typeof settings?.baseEnv !== 'object' || settings.baseEnv === null) {
    throw new TypeError('cgibridge: warm setting "baseEnv" (the scripts\' base environment) is required');
  }
  const extensions = settings.extensions ?? ['.py'];
  if (!Array.isArray(extensions) || extensions.some((e) => typeof e !== 'string' || (e !== '' && !e.startsWith('.')))) {
    throw new TypeError('cgibridge: warm setting "extensions" must be a list like [".py", ".cgi"]');
  }
  const exclude = settings.exclude ?? [];
  const preload = settings.preload ?? DEFAULT_PRELOAD;
  if (!Array.isArray(preload) || preload.some((m) => typeof m !== 'string' || !/^[A-Za-z_][\w.]*$/.test(m))) {
    throw new TypeError('cgibridge: warm setting "preload" must be a list of module names');
  }
  return {
    baseEnv: { ...settings.baseEnv },
    extensions: new Set(extensions.map((e) => e.toLowerCase())),
    // Without g and y: test() on such a RegExp is stateful (lastIndex) and would skip every other match.
    exclude: exclude.map((p) =>
      p instanceof RegExp ? new RegExp(p.source, p.flags.replace(/[gy]/g, '')) : globToRegExp(p),
    ),
    excludeByName: exclude.map((p) => typeof p === 'string' && !p.includes('/')),
    maxRequests: positive('maxRequests', settings.maxRequests, 1000),
    maxAgeMs: positive('maxAgeMs', settings.maxAgeMs, 600_000),
    checkIntervalMs: positive('checkIntervalMs', settings.checkIntervalMs, 1000),
    startTimeoutMs: positive('startTimeoutMs', settings.startTimeoutMs, 10_000),
    forkTimeoutMs: positive('forkTimeoutMs', settings.forkTimeoutMs, 3000),
    preload: [...preload],
  };
}
