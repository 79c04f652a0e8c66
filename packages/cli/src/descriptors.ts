import { closeSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/**
 * Closes descriptors this process inherited without close-on-exec (Linux).
 *
 * Node's spawn passes every such descriptor on to children and has no option to
 * stop it, so a descriptor leaked by whatever started the server would reach every
 * CGI script. Node and libuv open all of their own descriptors close-on-exec, so
 * anything above stderr without the flag was inherited; the CLI owns its process
 * and can close them. (A library cannot: its host may rely on them, as systemd
 * socket activation does.)
 *
 * @returns the descriptors closed.
 */
export function closeInheritedDescriptors(): number[] {
  if (process.platform !== 'linux') return [];
  const closed: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return closed;
  }
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags === undefined || (Number.parseInt(flags, 8) & O_CLOEXEC) !== 0) continue;
      closeSync(fd);
      closed.push(fd);
    } catch {
      // Gone already (readdir's own descriptor), or not ours to close.
    }
  }
  return closed;
}
