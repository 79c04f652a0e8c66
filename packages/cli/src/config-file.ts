import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CgiOptions } from '@cgibridge/core';
import { OPTION_FLAGS, type OptionFlag, UsageError } from './flags.js';

/** The name `cgibridge serve` looks for in the working directory when no `--config` is given. */
export const CONFIG_NAME = 'cgibridge.config.json';

/** What a config file says: one or more mounts (gateway options by their own names), and the server's settings. */
export interface ConfigFile {
  readonly path: string;
  readonly mounts: ReadonlyArray<CgiOptions & { mountPath?: string }>;
  readonly static?: string | undefined;
  readonly port?: number | undefined;
  readonly host?: string | undefined;
}

const SERVER_KEYS = new Set(['mounts', 'static', 'port', 'host']);
const PATH_OPTIONS = new Set(['root', 'script', 'documentRoot', 'spoolDirectory']);

/**
 * One mount's options: each key is a gateway option's own name; a string where the option wants a
 * duration or a size goes through the CLI's own parser (`"30s"`, `"1gb"`, `"unlimited"`), and
 * relative paths are relative to the config file.
 */
function mountOptions(raw: unknown, where: string, base: string): CgiOptions {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${where} must be an object of cgibridge options`);
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (SERVER_KEYS.has(key)) continue;
    const flag = (OPTION_FLAGS as Record<string, OptionFlag<unknown> | null | undefined>)[key];
    if (flag === undefined) throw new UsageError(`${where}: unknown option "${key}"`);
    if (key === 'overrides' && Array.isArray(value)) {
      // Each override's settings take the same spellings as the options they override.
      options[key] = value.map((entry, i) => {
        if (typeof entry !== 'object' || entry === null) return entry;
        const { match, ...settings } = entry as Record<string, unknown>;
        return { match, ...mountOptions(settings, `${where}: overrides[${i}]`, base) };
      });
    } else if (PATH_OPTIONS.has(key) && typeof value === 'string') options[key] = resolve(base, value);
    else if (typeof value === 'string' && flag?.arg !== undefined && flag.multiple !== true) {
      try {
        options[key] = (flag.parse as (text: string) => unknown)(value);
      } catch (error) {
        throw new UsageError(`${where}: "${key}": ${(error as Error).message.replace(/^--[\w-]+ /, '')}`);
      }
    } else options[key] = value;
  }
  return options as CgiOptions;
}

/**
 * Reads a config file (the options' own names, as `cgibridge import-apache` writes them): a single
 * mount's options, or `{ "mounts": [...] }`, plus `static`, `port` and `host`.
 * @throws UsageError naming the file and the key.
 */
export function readConfigFile(path: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${path}: not a JSON object`);
  const base = dirname(resolve(path));
  const top = raw as Record<string, unknown>;
  const list = Array.isArray(top.mounts) ? top.mounts : [top];
  const mounts = list.map((mount, i) =>
    mountOptions(mount, list === top.mounts ? `${path}: mounts[${i}]` : path, base),
  );
  if (top.static !== undefined && typeof top.static !== 'string')
    throw new UsageError(`${path}: "static" must be a path`);
  if (top.port !== undefined && !Number.isInteger(top.port)) throw new UsageError(`${path}: "port" must be a number`);
  return {
    path,
    mounts,
    static: typeof top.static === 'string' ? resolve(base, top.static) : undefined,
    port: top.port as number | undefined,
    host: typeof top.host === 'string' ? top.host : undefined,
  };
}

/** The config file to use: `--config`, else `./cgibridge.config.json` when there is one. */
export function findConfigFile(given: string | undefined, cwd = process.cwd()): string | undefined {
  if (given !== undefined) return given;
  const candidate = resolve(cwd, CONFIG_NAME);
  return existsSync(candidate) ? candidate : undefined;
}
