import { closeSync, openSync, readSync, type Stats, statSync } from 'node:fs';

/** A script's `#!` line as Linux's binfmt_script reads it. */
export interface Shebang {
  /** The interpreter path (the first word). */
  readonly interpreter: string;
  /** Everything after it, trimmed, as the one optional argument the kernel passes; `undefined` when none. */
  readonly argument: string | undefined;
}

/** The kernel reads at most this much of the first line (BINPRM_BUF_SIZE). */
const HEAD = 256;

/**
 * Parses a `#!` line: `undefined` when the file has none or its first line does not fit in
 * what the kernel reads (then the cold start reports what is wrong).
 */
export function parseShebang(head: Buffer): Shebang | undefined {
  if (head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const end = head.indexOf(0x0a);
  if (end === -1 && head.length >= HEAD) return undefined;
  const line = head.toString('latin1', 2, end === -1 ? head.length : end);
  const trimmed = line.replace(/^[ \t]+/, '');
  const gap = trimmed.search(/[ \t]/);
  const interpreter = gap === -1 ? trimmed : trimmed.slice(0, gap);
  const argument = gap === -1 ? '' : trimmed.slice(gap).replace(/^[ \t]+|[ \t]+$/g, '');
  if (interpreter === '') return undefined;
  return { interpreter, argument: argument === '' ? undefined : argument };
}

/** What a script's first and last bytes say. */
export interface ScriptFacts {
  /** Its `#!` line, `undefined` when it has none. */
  readonly shebang: Shebang | undefined;
  /**
   * Whether its tail holds a zip end-of-directory signature: only then can Python's
   * zipimporter take the file for an archive to run (a zipapp).
   */
  readonly mayBeZip: boolean;
}

interface CachedFacts extends ScriptFacts {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
}

/** How far from its end zipimport looks for the end-of-central-directory record (comment, zip64 records included). */
const ZIP_TAIL = 65_535 + 22 + 56 + 20;

/** Files changed this recently are not trusted to have a distinct mtime yet (coarse file system clocks). */
const RACY_MS = 2000;

/**
 * Reads scripts' shebang lines and zip signatures, cached per path and validated by inode,
 * mtime and size on every call (one stat).
 */
export class ScriptCache {
  private readonly entries = new Map<string, CachedFacts>();

  constructor(private readonly maxEntries = 4096) {}

  /** What the script's bytes say; `null` when the file cannot be read. */
  read(path: string): ScriptFacts | null {
    let stats: Stats | undefined;
    try {
      stats = statSync(path, { throwIfNoEntry: false });
    } catch {
      return null;
    }
    if (stats === undefined) return null;
    const cached = this.entries.get(path);
    if (
      cached !== undefined &&
      cached.ino === stats.ino &&
      cached.mtimeMs === stats.mtimeMs &&
      cached.size === stats.size
    ) {
      return cached;
    }
    const head = readBytesSync(path, HEAD, 0);
    const tail = readBytesSync(path, ZIP_TAIL, Math.max(0, stats.size - ZIP_TAIL));
    if (head === null || tail === null) return null;
    const facts = { shebang: parseShebang(head), mayBeZip: tail.includes('PK\x05\x06', 0, 'latin1') };
    if (Date.now() - stats.mtimeMs > RACY_MS) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(path, { ino: stats.ino, mtimeMs: stats.mtimeMs, size: stats.size, ...facts });
    }
    return facts;
  }
}

/** Bytes of a file from `position`, or `null` (synchronous: see statOrNull in resolve-script.ts for why). */
export function readBytesSync(path: string, length: number, position: number): Buffer | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(length);
    const n = readSync(fd, buffer, 0, length, position);
    return buffer.subarray(0, n);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
