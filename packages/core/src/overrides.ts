import { relative, sep } from 'node:path';
import { globToRegExp } from './glob.js';
import { CgiOptionError, isPlainObject } from './option-checks.js';
import type { CgiConfig } from './options.js';

/**
 * Settings for the scripts whose path under the script root matches `match` (Apache's
 * `<Directory>`/`<Files>` blocks): later entries win over earlier ones, both over the defaults.
 * @example `{ match: 'admin/**', timeout: 120_000, env: { ADMIN: '1' } }`
 */
export interface CgiOverride {
  /** A glob over the script's path relative to the root: `*` within a segment, `**` across, `?` one character. */
  readonly match: string;
  readonly timeout?: number;
  readonly maxRequestBody?: number;
  /** Merged over the global `env` (an object; a function-valued global `env` is kept and this is applied after). */
  readonly env?: Readonly<Record<string, string>>;
  /** Merged over the global `interpreters`. */
  readonly interpreters?: Readonly<Record<string, string | readonly string[]>>;
  /** Warm start (option `warm`) for these scripts, whatever their extension (`true`), or never (`false`). */
  readonly warm?: boolean;
}

/** A validated override: its glob compiled, its values resolved through the option table. */
export interface CgiResolvedOverride {
  readonly test: (relativePath: string) => boolean;
  readonly settings: Partial<Pick<CgiConfig, 'timeout' | 'maxRequestBody' | 'interpreters' | 'warmHere'>> & {
    readonly env?: Readonly<Record<string, string>>;
  };
}

const KEYS = new Set(['match', 'timeout', 'maxRequestBody', 'env', 'interpreters', 'warm']);

/** Validates `overrides`; each value goes through the same check as the global option of that name. */
export function overridesOf(
  value: unknown,
  resolveOption: (name: 'timeout' | 'maxRequestBody' | 'env' | 'interpreters', value: unknown) => unknown,
): readonly CgiResolvedOverride[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new CgiOptionError('overrides', 'a list of { match, ...settings }', value);
  return value.map((entry, i) => {
    const name = `overrides[${i}]`;
    if (!isPlainObject(entry) || typeof entry.match !== 'string' || entry.match === '' || entry.match.startsWith('/')) {
      throw new CgiOptionError(name, 'an object with "match", a glob relative to the root', entry);
    }
    for (const key of Object.keys(entry)) {
      if (!KEYS.has(key)) throw new CgiOptionError(`${name}.${key}`, `one of ${[...KEYS].join(', ')}`, key);
    }
    const settings: Record<string, unknown> = {};
    for (const key of ['timeout', 'maxRequestBody', 'env', 'interpreters'] as const) {
      if (entry[key] !== undefined) settings[key] = resolveOption(key, entry[key]);
    }
    if (entry.warm !== undefined) {
      if (typeof entry.warm !== 'boolean') throw new CgiOptionError(`${name}.warm`, 'true or false', entry.warm);
      settings.warmHere = entry.warm;
    }
    const pattern = globToRegExp(entry.match);
    return { test: (path: string) => pattern.test(path), settings: settings as CgiResolvedOverride['settings'] };
  });
}

/**
 * The configuration a script runs with: the global one, with the settings of every override
 * whose glob matches the script's path under the root applied in order.
 */
export function configFor(config: CgiConfig, filename: string): CgiConfig {
  if (config.overrides.length === 0) return config;
  const path = relative(config.scriptRoot.real, filename).split(sep).join('/');
  let result = config;
  for (const { test, settings } of config.overrides) {
    if (!test(path)) continue;
    result = {
      ...result,
      ...settings,
      interpreters: settings.interpreters
        ? new Map([...result.interpreters, ...settings.interpreters])
        : result.interpreters,
      env: mergeEnv(result.env, settings.env),
    };
  }
  return result;
}

function mergeEnv(base: CgiConfig['env'], extra: Readonly<Record<string, string>> | undefined): CgiConfig['env'] {
  if (extra === undefined) return base;
  if (typeof base === 'function') return (request) => ({ ...base(request), ...extra });
  return { ...base, ...extra };
}
