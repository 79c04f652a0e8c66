import { readFileSync, type Stats, statSync } from 'node:fs';
import { userInfo } from 'node:os';

/** The user scripts run as, whose permissions the doctor checks. */
export interface TargetUser {
  /** As given or looked up, for messages: `nobody`, `33:33`. */
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Every group whose permission bits apply. */
  readonly groups: readonly number[];
  /** The doctor runs as this user already (no uid/gid switch needed to run its checks). */
  readonly current: boolean;
}

/** Thrown for a `--user` that names nobody known. */
export class UnknownUserError extends Error {
  override name = 'UnknownUserError';
}

/** The user of this process, with its supplementary groups. */
export function currentUser(): TargetUser {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (containers): the number will do.
  }
  return { name, uid, gid, groups: [gid, ...(process.getgroups?.() ?? [])], current: true };
}

function passwd(): string[][] {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}

/**
 * Resolves `--user NAME`, `--user UID` or `--user UID:GID` through /etc/passwd.
 *
 * Only the primary group counts: Node's spawn with `uid`/`gid` calls `setgroups(0, NULL)`,
 * so a script started that way has no supplementary groups.
 * @throws UnknownUserError when the name (or a bare UID) has no passwd entry.
 */
export function resolveUser(spec: string): TargetUser {
  const me = currentUser();
  const pair = /^(\d+):(\d+)$/.exec(spec);
  let uid: number;
  let gid: number;
  if (pair !== null) {
    uid = Number(pair[1]);
    gid = Number(pair[2]);
  } else {
    const entry = passwd().find((fields) => (/^\d+$/.test(spec) ? fields[2] === spec : fields[0] === spec));
    if (entry === undefined) throw new UnknownUserError(`--user "${spec}": no such user in /etc/passwd`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  const current = uid === me.uid && gid === me.gid;
  return { name: spec, uid, gid, groups: current ? me.groups : [gid], current };
}

/** The owner/group/other class whose bits apply to the user, as chmod names it. */
export function classOf(stats: Pick<Stats, 'uid' | 'gid'>, user: TargetUser): 'u' | 'g' | 'o' {
  if (stats.uid === user.uid) return 'u';
  return user.groups.includes(stats.gid) ? 'g' : 'o';
}

/**
 * Whether the user may read (`r`) or execute/search (`x`) a file or directory, from its mode
 * bits (ACLs are not considered). Root reads and searches anything, and executes a file with
 * any execute bit (CAP_DAC_OVERRIDE).
 */
export function allows(stats: Pick<Stats, 'uid' | 'gid' | 'mode'>, user: TargetUser, want: 'r' | 'x'): boolean {
  if (user.uid === 0) return want === 'r' || (stats.mode & 0o170000) === 0o040000 || (stats.mode & 0o111) !== 0;
  const shift = { u: 6, g: 3, o: 0 }[classOf(stats, user)];
  return ((stats.mode >> shift) & (want === 'r' ? 4 : 1)) !== 0;
}

/** `drwxr-x--- root:root`, for messages. */
export function describeMode(stats: Stats): string {
  const kind = stats.isDirectory() ? 'd' : '-';
  let bits = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const part = (stats.mode >> shift) & 7;
    bits += `${part & 4 ? 'r' : '-'}${part & 2 ? 'w' : '-'}${part & 1 ? 'x' : '-'}`;
  }
  return `${kind}${bits} ${stats.uid}:${stats.gid}`;
}

/** stat(), or `undefined`. */
export function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
