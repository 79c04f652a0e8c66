import { readdirSync, readFileSync } from 'node:fs';

/** Processes (zombies included) whose real user id is `uid`: what RLIMIT_NPROC counts for that user. */
export function processesOf(uid: number): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const real = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (Number(real) === uid) count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

/** The uid and gid of a user in /etc/passwd, or `undefined`. */
export function userIds(name: string): { uid: number; gid: number } | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}
