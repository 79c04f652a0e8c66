import { realpathSync, type Stats, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { CgiError } from './errors.js';
import type { CgiConfig } from './options.js';
import { configFor } from './overrides.js';

/** Where a URL led: the script to run and how the URL splits around it (RFC 3875 §4.1.13, §4.1.5). */
export interface CgiScriptMatch {
  /** `SCRIPT_NAME`: the mount plus the decoded URL segments up to and including the script. */
  readonly scriptName: string;
  /** `PATH_INFO`: the decoded rest of the path (`''` when none). */
  readonly pathInfo: string;
  /** Real absolute path of the script file (symlinks resolved, inside the root). */
  readonly filename: string;
  /** The program to execute: an interpreter, or the script itself. */
  readonly command: string;
  /** Arguments before any query-derived ones: `[...interpreterArgs, filename]` or `[]`. */
  readonly args: readonly string[];
}

/** A directory URL without its trailing slash whose index exists: answered with a redirect. */
export interface CgiDirectoryRedirect {
  readonly directoryRedirect: string;
}

/**
 * Splits a raw URL path into percent-decoded segments, decoding exactly once.
 *
 * Refuses, before any file system access, everything that has let URLs escape a
 * CGI directory in the past (Apache CVE-2021-41773/42013, Python CVE-2011-1015):
 * encoded `/` `\` or NUL (404), malformed percent-encoding or invalid UTF-8 (400),
 * backslashes, NUL, segments starting with `.` (hidden files, `..`), and segments
 * ending in `.` or a space (Windows name aliasing).
 *
 * @param rawPath - the path below the mount: `''` or starting with `/`.
 * @returns the decoded segments; `''` is an empty segment (`a//b`, trailing `/`).
 * @throws CgiError `ERR_CGI_BAD_PATH` (400) or `ERR_CGI_FORBIDDEN_PATH` (404).
 */
export function splitCgiPath(rawPath: string): string[] {
  if (rawPath === '') return [];
  if (!rawPath.startsWith('/')) throw forbidden('path does not start with "/"');
  const raw = rawPath.slice(1).split('/');
  const segments: string[] = [];
  for (const part of raw) {
    if (/%(?:2f|5c|00)/i.test(part)) throw forbidden('encoded "/", "\\" or NUL');
    let segment: string;
    try {
      segment = part.includes('%') ? decodeURIComponent(part) : part;
    } catch {
      throw new CgiError('ERR_CGI_BAD_PATH', 'malformed percent-encoding in the URL path');
    }
    if (/[\\\0]/.test(segment)) throw forbidden('backslash or NUL');
    // Control characters never name a script and could forge log lines.
    if (/[\x00-\x1f\x7f]/.test(segment)) throw forbidden('control character');
    if (segment.startsWith('.')) throw forbidden('segment starting with "."');
    if (segment.endsWith(' ')) throw forbidden('segment ending in a space');
    if (segment.endsWith('.')) throw forbidden('segment ending in "."');
    segments.push(segment);
  }
  return segments;
}

function forbidden(why: string): CgiError {
  return new CgiError('ERR_CGI_FORBIDDEN_PATH', `refused URL path: ${why}`);
}

// RFC 3986 §2.3: unreserved characters; percent-encoding them changes nothing but the spelling.
const ENCODED_UNRESERVED = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DdEe]|5[Ff]|7[Ee])/g;

/**
 * The canonical spelling of a raw path whose only oddity is percent-encoded unreserved
 * characters (`/%61dmin` for `/admin`, `%7E` for `~`), or `null` when it has none. Such a path
 * is answered with a redirect, never run: the framework, and any proxy in front, matched the
 * raw spelling, so a guard mounted on `/admin` would not have seen `/%61dmin`.
 */
export function canonicalPath(rawPath: string): string | null {
  if (!rawPath.includes('%')) return null;
  const canonical = rawPath.replace(ENCODED_UNRESERVED, (encoded) =>
    String.fromCharCode(Number.parseInt(encoded.slice(1), 16)),
  );
  return canonical === rawPath ? null : canonical;
}

/**
 * stat() without the thread pool. Synchronous on purpose: an asynchronous stat costs about
 * 25 times the CPU of the call itself (a thread-pool hand-off and a wake-up), and it cannot
 * shield the event loop from a hung file system anyway, because the spawn that follows
 * blocks the loop until the kernel has read the same file to execute it.
 */
function statOrNull(path: string): Stats | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    // ENOTDIR, EACCES, ELOOP, ENAMETOOLONG: none of them names a script.
    return null;
  }
}

function inside(real: string, rootReal: string): boolean {
  return real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
}

/**
 * Finds the script a decoded path names under the configured root (or the one
 * configured `script`), confined to the root's real path.
 *
 * @param mountPath - the URL prefix the path was found under: it starts `SCRIPT_NAME`.
 *
 * @returns the match; a directory redirect; or `null` when nothing matches (falls through).
 * @throws CgiError when a file matches but must not run (symlink leaving the root,
 *   `.bat`/`.cmd`, not executable and no interpreter).
 */
export async function resolveScript(
  segments: readonly string[],
  mountPath: string,
  config: CgiConfig,
): Promise<CgiScriptMatch | CgiDirectoryRedirect | null> {
  if (config.script !== undefined) {
    const stats = statOrNull(config.script.real);
    if (stats === null || !stats.isFile()) return null;
    const pathInfo = segments.length === 0 ? '' : `/${segments.join('/')}`;
    return runnable(config.script.real, stats, mountPath, pathInfo, config);
  }
  const root = config.scriptRoot.path;
  let dir = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (segment === '') {
      if (!last) return null;
      return indexOf(dir, segments.slice(0, i), mountPath, config);
    }
    const candidate = join(dir, segment);
    const stats = statOrNull(candidate);
    if (stats === null) return null;
    if (stats.isFile()) {
      const scriptName = `${mountPath}/${segments.slice(0, i + 1).join('/')}`;
      const rest = segments.slice(i + 1);
      const pathInfo = rest.length === 0 ? '' : `/${rest.join('/')}`;
      return confined(candidate, stats, scriptName, pathInfo, config);
    }
    if (!stats.isDirectory()) return null;
    dir = candidate;
  }
  // The URL names a directory (or the mount itself) without a trailing slash.
  if (config.index.length === 0) return null;
  const found = await indexOf(dir, segments, mountPath, config);
  if (found === null) return null;
  return {
    directoryRedirect: `${mountPath}/${segments.map(encodeURIComponent).join('/')}${segments.length ? '/' : ''}`,
  };
}

async function indexOf(
  dir: string,
  segments: readonly string[],
  mountPath: string,
  config: CgiConfig,
): Promise<CgiScriptMatch | null> {
  for (const name of config.index) {
    const candidate = join(dir, name);
    const stats = statOrNull(candidate);
    if (stats?.isFile()) {
      const scriptName = `${mountPath}/${[...segments, name].join('/')}`;
      return confined(candidate, stats, scriptName, '', config);
    }
  }
  return null;
}

async function confined(
  candidate: string,
  stats: Stats,
  scriptName: string,
  pathInfo: string,
  config: CgiConfig,
): Promise<CgiScriptMatch> {
  // Resolved on every request, never cached: a cached real path can later pass through a
  // symlink that leaves the root (a file or directory moved out and linked back in) while
  // still naming the same inode. realpath(3) costs about 3 µs, less than re-validating a cache.
  let real: string;
  try {
    real = realpathSync.native(candidate);
  } catch {
    throw forbidden('script vanished while resolving');
  }
  if (!inside(real, config.scriptRoot.real)) {
    throw new CgiError('ERR_CGI_FORBIDDEN_PATH', `${scriptName}: refused, its real path leaves the script root`);
  }
  return runnable(real, stats, scriptName, pathInfo, config);
}

/**
 * Checks again, right before the spawn and after the last wait (a chunked body can take up
 * to `timeout` to arrive), that the script's real path is still what was resolved: a directory
 * or file swapped for a symlink meanwhile would otherwise run something outside the root.
 * What remains is the instant between this check and the exec, and interpreters that open
 * the script by its path again (SECURITY.md).
 *
 * @throws CgiError `ERR_CGI_FORBIDDEN_PATH` (404) when it changed.
 */
export function reconfine(match: CgiScriptMatch, config: CgiConfig): void {
  let real: string | undefined;
  try {
    real = realpathSync.native(match.filename);
  } catch {
    real = undefined;
  }
  if (real !== match.filename || !inside(real, config.scriptRoot.real)) {
    throw new CgiError('ERR_CGI_FORBIDDEN_PATH', 'refused: its real path changed while the request was read');
  }
}

async function runnable(
  filename: string,
  stats: Stats,
  scriptName: string,
  pathInfo: string,
  config: CgiConfig,
): Promise<CgiScriptMatch> {
  const ext = extname(filename).toLowerCase();
  // BatBadBut (CVE-2024-27980): cmd.exe re-parses arguments of batch files.
  if (ext === '.bat' || ext === '.cmd') {
    throw new CgiError('ERR_CGI_FORBIDDEN_SCRIPT', `${scriptName}: batch files (.bat, .cmd) are never run`);
  }
  const interpreter = configFor(config, filename).interpreters.get(ext);
  if (interpreter !== undefined) {
    const [command, ...args] = interpreter as [string, ...string[]];
    return { scriptName, pathInfo, filename, command, args: [...args, filename] };
  }
  if ((stats.mode & 0o111) === 0) {
    const hint = ext ? ` or configure an interpreter for "${ext}"` : '';
    throw new CgiError(
      'ERR_CGI_NOT_EXECUTABLE',
      `${scriptName}: the script is not executable; run "chmod +x" on it${hint}`,
    );
  }
  if (!(await hasExecutableFormat(filename, stats))) {
    const hint = ext ? ` or configure an interpreter for "${ext}"` : '';
    throw new CgiError(
      'ERR_CGI_NO_SHEBANG',
      `${scriptName}: the script has no shebang line (#!) and is not a binary; add one, e.g. "#!/bin/sh"${hint}`,
    );
  }
  return { scriptName, pathInfo, filename, command: filename, args: [] };
}

// The kernel runs "#!" scripts and these binaries; for anything else the C library's
// execvp would quietly hand the file to /bin/sh, which is a shell we promised not to use.
const MAGIC = [
  Buffer.from('#!'),
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]), // ELF
  Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), // Mach-O 64
  Buffer.from([0xce, 0xfa, 0xed, 0xfe]), // Mach-O 32
  Buffer.from([0xca, 0xfe, 0xba, 0xbe]), // Mach-O universal
  Buffer.from('MZ'), // PE (Windows)
];
const formatCache = new Map<
  string,
  { readonly dev: number; readonly ino: number; readonly mtimeMs: number; readonly size: number; readonly ok: boolean }
>();

/** Whether a file starts like something the kernel executes itself; cached per path, device, inode, mtime and size. */
async function hasExecutableFormat(filename: string, stats: Stats): Promise<boolean> {
  const cached = formatCache.get(filename);
  if (
    cached?.dev === stats.dev &&
    cached.ino === stats.ino &&
    cached.mtimeMs === stats.mtimeMs &&
    cached.size === stats.size
  ) {
    return cached.ok;
  }
  const head = await readHead(filename, 4);
  // Unreadable: let the spawn report why.
  if (head === undefined) return true;
  const ok = MAGIC.some((magic) => head.subarray(0, magic.length).equals(magic));
  if (formatCache.size >= 4096) formatCache.clear();
  formatCache.set(filename, { dev: stats.dev, ino: stats.ino, mtimeMs: stats.mtimeMs, size: stats.size, ok });
  return ok;
}

/** The first `bytes` bytes of a file (fewer if it is shorter), or `undefined` when it cannot be read. */
export async function readHead(filename: string, bytes: number): Promise<Buffer | undefined> {
  try {
    const file = await open(filename, 'r');
    try {
      const { buffer, bytesRead } = await file.read(Buffer.alloc(bytes), 0, bytes, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}
