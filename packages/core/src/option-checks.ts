import { readFileSync, realpathSync, statSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { resolve } from 'node:path';

/**
 * A wrong option, thrown when a gateway is created: `option` names it (`timeout`,
 * `interpreters[".py"]`), `expected` says the form it must take.
 */
export class CgiOptionError extends TypeError {
  readonly code = 'ERR_CGI_OPTION';
  /** The option's name as the caller spelled it, with a key for map-like options. */
  readonly option: string;
  /** What the option must be, in words. */
  readonly expected: string;
  /** What was given, shown briefly. */
  readonly received: string;
  /** Why, when "must be" does not say it all (e.g. why the native spawner cannot load). */
  readonly detail: string | undefined;

  /** @param message - replaces the usual "option X must be Y (got Z)" sentence. */
  constructor(option: string, expected: string, value: unknown, detail?: string, message?: string) {
    const received = show(value);
    super(
      `cgibridge: ${message ?? `option "${option}" must be ${expected} (got ${received})${detail ? `: ${detail}` : ''}`}`,
    );
    this.name = 'CgiOptionError';
    this.option = option;
    this.expected = expected;
    this.received = received;
    this.detail = detail;
  }
}

function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new CgiOptionError(name, 'true or false', value);
  return value;
}

/** An integer amount with a unit; `Infinity` where allowed. */
export function amount(
  name: string,
  value: unknown,
  fallback: number,
  { min = 1, infinite = false, unit }: { min?: number; infinite?: boolean; unit: string },
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= min) || (infinite && value === Number.POSITIVE_INFINITY));
  if (!ok) throw new CgiOptionError(name, `an integer >= ${min} (${unit})${infinite ? ' or Infinity' : ''}`, value);
  return value as number;
}

/** One of a list of words, the list spelled once by the caller. */
export function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    const words = choices.map((c) => `"${c}"`);
    throw new CgiOptionError(name, `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`, value);
  }
  return value as T;
}

/** A path that must exist as a file or directory: its absolute and real paths. */
export function existing(name: string, path: unknown, kind: 'file' | 'directory'): { path: string; real: string } {
  if (typeof path !== 'string' || path === '') throw new CgiOptionError(name, `a path to a ${kind}`, path);
  const absolute = resolve(path);
  const stats = statSync(absolute, { throwIfNoEntry: false });
  if (stats === undefined) throw new CgiOptionError(name, `an existing ${kind}`, path);
  if (kind === 'file' ? !stats.isFile() : !stats.isDirectory()) throw new CgiOptionError(name, `a ${kind}`, path);
  return { path: absolute, real: realpathSync(absolute) };
}

export function stringList(name: string, value: unknown, check: (item: string) => boolean, expected: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || !check(item))) {
    throw new CgiOptionError(name, expected, value);
  }
  return [...(value as string[])];
}

/** `trustProxy`: a predicate over peer addresses. */
export function trustProxyOf(value: unknown): (address: string) => boolean {
  if (value === undefined || value === false) return () => false;
  if (value === true) return () => true;
  if (typeof value === 'function') return value as (address: string) => boolean;
  const expected = 'true, false, a function, or a list of IP addresses and CIDR ranges';
  if (!Array.isArray(value)) throw new CgiOptionError('trustProxy', expected, value);
  const list = new BlockList();
  for (const entry of value) {
    if (typeof entry !== 'string') throw new CgiOptionError('trustProxy', expected, value);
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new CgiOptionError('trustProxy', expected, entry);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) {
      list.addAddress(address, type);
      continue;
    }
    if (!/^\d+$/.test(bits) || Number(bits) > (family === 6 ? 128 : 32)) {
      throw new CgiOptionError('trustProxy', expected, entry);
    }
    list.addSubnet(address, Number(bits), type);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** `runAs`: `NAME` (looked up in /etc/passwd) or `UID:GID`. */
export function credentialsOf(value: unknown): { uid: number; gid: number; name: string } | undefined {
  if (value === undefined) return undefined;
  const expected = 'a user name from /etc/passwd or "UID:GID"';
  if (typeof value !== 'string' || value === '') throw new CgiOptionError('runAs', expected, value);
  const numeric = /^(\d+):(\d+)$/.exec(value);
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2]), name: value };
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    throw new CgiOptionError('runAs', expected, value, 'cannot read /etc/passwd; give "UID:GID"');
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === value && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid), name };
  }
  throw new CgiOptionError('runAs', expected, value, 'no such user');
}
