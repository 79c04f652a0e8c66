import type { Stats } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { CgiFileKind, CgiFileProbe } from '@cgibridge/core';
import type { Findings } from './finding.js';
import { allows, classOf, describeMode, statOf, type TargetUser } from './target-user.js';

/** A directory on the way to a path that the user may not search (no `x` bit for them). */
export interface Blocked {
  readonly dir: string;
  readonly stats: Stats;
}

/** The directories from `/` down to (and including) `dir`. */
function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    out.unshift(current);
    if (dirname(current) === current) return out;
  }
}

/** The first directory above `path` (an absolute, real path) the user cannot search, if any. */
export function blockedDirectory(path: string, user: TargetUser): Blocked | undefined {
  for (const dir of ancestors(dirname(path))) {
    const stats = statOf(dir);
    if (stats !== undefined && !allows(stats, user, 'x')) return { dir, stats };
  }
  return undefined;
}

/**
 * A file probe as the target user: `executable` only when every directory on the way is
 * searchable and the file has an execute bit for them (mode bits; ACLs not considered).
 */
export function probeAs(user: TargetUser): CgiFileProbe {
  const cache = new Map<string, CgiFileKind>();
  return (path) => {
    let kind = cache.get(path);
    if (kind === undefined) {
      const stats = statOf(path);
      kind =
        stats === undefined
          ? 'missing'
          : stats.isDirectory()
            ? 'directory'
            : blockedDirectory(path, user) === undefined && allows(stats, user, 'x')
              ? 'executable'
              : 'file';
      cache.set(path, kind);
    }
    return kind;
  };
}

function chmod(stats: Stats, user: TargetUser, bits: string, path: string): string {
  return `chmod ${classOf(stats, user)}+${bits} ${path}`;
}

/**
 * The classic "can the web server's user get at it" check: search (`x`) on every directory
 * from `/` to the script, read (`r`) on the script, and execute (`x`) when it runs directly.
 *
 * @param real - the script's real path (what the gateway executes).
 * @param shown - how to name it in a fix.
 * @returns whether everything is accessible.
 */
export function checkAccess(
  real: string,
  shown: string,
  stats: Stats,
  user: TargetUser,
  direct: boolean,
  findings: Findings,
): boolean {
  const who = `user ${user.name} (uid ${user.uid}, gid ${user.gid})`;
  const blocked = blockedDirectory(real, user);
  if (blocked !== undefined) {
    findings.add(
      'access',
      'error',
      `${who} cannot reach it: directory ${blocked.dir} (${describeMode(blocked.stats)}) is not searchable for them`,
      `${chmod(blocked.stats, user, 'x', blocked.dir)}, or run scripts as a user that may enter it`,
    );
    return false;
  }
  const missing = [allows(stats, user, 'r') ? '' : 'r', direct && !allows(stats, user, 'x') ? 'x' : ''].join('');
  if (missing === '') return true;
  // Execute permission for nobody at all is the executable check's business.
  if (missing === 'x' && (stats.mode & 0o111) === 0) return true;
  const what = missing === 'rx' ? 'read or execute' : missing === 'r' ? 'read' : 'execute';
  findings.add(
    'access',
    'error',
    `${who} may not ${what} it (${describeMode(stats)})`,
    `${chmod(stats, user, missing, shown)}, or chown it to ${user.name}`,
  );
  return false;
}

/** Appends why a path is out of the user's reach, if a directory above it is the cause. */
export function reachNote(path: string, user: TargetUser): string {
  const blocked = path.startsWith(sep) ? blockedDirectory(path, user) : undefined;
  return blocked === undefined
    ? ''
    : ` (user ${user.name} cannot enter ${blocked.dir}: ${describeMode(blocked.stats)})`;
}
