import { CgiOptionError, isPlainObject } from './option-checks.js';
import type { WarmPythonSettings } from './warm/settings.js';

/** Settings of the warm start an option may give (the rest comes from the gateway). */
export type CgiWarmSettings = Omit<WarmPythonSettings, 'baseEnv' | 'extensions'>;

/** `warm` after validation: the candidate extensions and the settings (merged over the entries). */
export interface CgiWarmConfig {
  readonly extensions: readonly string[];
  readonly settings: CgiWarmSettings;
}

const SETTINGS = new Set([
  'exclude',
  'maxRequests',
  'maxAgeMs',
  'checkIntervalMs',
  'startTimeoutMs',
  'forkTimeoutMs',
  'preload',
]);

/**
 * Validates `warm`: extension → `true`, `false` or settings. The extension only selects
 * candidates; a script runs warm when the interpreter it would really run is a Python the zygote
 * can be. Settings from several entries are merged (they apply to the one warm spawner).
 */
export function warmOf(value: unknown): CgiWarmConfig | undefined {
  if (value === undefined || value === false) return undefined;
  const expected = 'an object of extension -> true or settings, e.g. {".py": true}';
  if (!isPlainObject(value)) throw new CgiOptionError('warm', expected, value);
  const extensions: string[] = [];
  let settings: Record<string, unknown> = {};
  for (const [ext, entry] of Object.entries(value)) {
    const name = `warm["${ext}"]`;
    if (!/^(\.[A-Za-z0-9_+-]+)?$/.test(ext)) throw new CgiOptionError(name, 'keyed by an extension like ".py"', ext);
    if (entry === false) continue;
    if (entry !== true && !isPlainObject(entry))
      throw new CgiOptionError(name, 'true, false or an object of settings', entry);
    for (const key of entry === true ? [] : Object.keys(entry)) {
      if (!SETTINGS.has(key)) throw new CgiOptionError(`${name}.${key}`, `one of ${[...SETTINGS].join(', ')}`, key);
    }
    extensions.push(ext.toLowerCase());
    if (entry !== true) settings = { ...settings, ...entry };
  }
  return extensions.length === 0 ? undefined : { extensions, settings: settings as CgiWarmSettings };
}
