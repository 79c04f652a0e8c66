import { readdirSync, readFileSync } from 'node:fs';
import type { CgiLogger } from './logger.js';

const O_CLOEXEC = 0o2000000;

/**
 * Node 22 and 24 read their CA certificates (NODE_EXTRA_CA_CERTS among them) on a thread of
 * their own as soon as node:tls loads, which an ESM import of node:http does, through fopen():
 * without close-on-exec. That descriptor is Node's, not inherited; closed under that thread, the
 * certificates fail to load, and Node later closes whatever reused the number (a listener).
 * Asking for the certificates waits for that thread (Node versions without
 * `tls.getCACertificates` read them at start-up, on the main thread).
 */
function awaitCertificateThread(): void {
  const tls = process.getBuiltinModule('node:tls') as { getCACertificates?: (type: string) => unknown };
  tls.getCACertificates?.('default');
}

/**
 * Descriptors above stderr that this process holds without close-on-exec (Linux;
 * `[]` elsewhere). Node and libuv open all of their own close-on-exec (the CA
 * certificates' file aside, which this waits for), so these were inherited from
 * whatever started the process, and Node's spawn passes every one of them on to
 * each child: to every CGI script.
 */
export function listInheritedDescriptors(): number[] {
  if (process.platform !== 'linux') return [];
  awaitCertificateThread();
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const inherited: number[] = [];
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags !== undefined && (Number.parseInt(flags, 8) & O_CLOEXEC) === 0) inherited.push(fd);
    } catch {
      // Closed meanwhile (readdir's own descriptor).
    }
  }
  return inherited;
}

let warned = false;

/** Says once per process which inherited descriptors will reach scripts, and what to do about it. */
export function warnAboutInheritedDescriptors(logger: CgiLogger): void {
  if (warned) return;
  warned = true;
  const fds = listInheritedDescriptors();
  if (fds.length === 0) return;
  logger.warn(
    `file descriptors ${fds.join(', ')} were inherited without close-on-exec and will reach every script; ` +
      'close them at start-up or start the server from a clean environment (the cgibridge CLI closes them)',
  );
}
