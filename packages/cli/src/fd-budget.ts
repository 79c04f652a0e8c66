import { readFileSync } from 'node:fs';

/** What the open-file limit allows: connections and scripts at once. */
export interface FdBudget {
  /** The soft RLIMIT_NOFILE, or `undefined` when it cannot be read or is unlimited. */
  readonly limit: number | undefined;
  /** For `server.maxConnections`; `undefined`: no cap needed. */
  readonly maxConnections: number | undefined;
  /** `maxConcurrent`, lowered if the limit cannot carry it. */
  readonly maxConcurrent: number;
}

// Node's own descriptors (event loop, signal pipes, stdio, the listener) and spares for
// reading scripts and the like.
const RESERVED = 32;
// A running script holds three stdio sockets; spawning briefly needs a few more.
const PER_SCRIPT = 4;

/** The soft open-file limit of this process (Linux), or `undefined`. */
export function openFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const soft = Number(line?.[1]);
    return Number.isInteger(soft) && soft > 0 ? soft : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Splits the open-file limit between connections and scripts so that a spawn never
 * meets EMFILE. That matters beyond a 503: when a spawn fails for want of descriptors
 * after its stdio sockets were made, Node (20) leaks three descriptors, so a server
 * driven to the limit again and again would slowly lose the ability to run anything.
 */
export function fdBudget(maxConcurrent: number, limit = openFileLimit()): FdBudget {
  if (limit === undefined) return { limit, maxConnections: undefined, maxConcurrent };
  const available = Math.max(limit - RESERVED, 8);
  // Scripts get at most half of what is available; connections the rest.
  const scripts = Math.max(1, Math.min(maxConcurrent, Math.floor(available / 2 / PER_SCRIPT)));
  return { limit, maxConnections: Math.max(4, available - scripts * PER_SCRIPT), maxConcurrent: scripts };
}
