import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** A shell wildcard (fnmatch: `*`, `?`, `[...]`) as an anchored regular expression for one name. */
function wildcard(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) source += '\\[';
      else {
        source += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Every file below a directory, depth first, names sorted (as httpd includes a directory). */
function filesBelow(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return isDirectory(path) ? filesBelow(path) : [path];
    });
}

/**
 * The files an `Include` names, in the order httpd reads them: wildcards in any path
 * component are expanded (matches sorted, hidden names only when the pattern starts with a dot),
 * and a directory stands for every file below it.
 *
 * @param base - what a relative path is relative to (httpd: ServerRoot).
 * @returns the files; `wildcard` says whether the pattern had one (an empty match is then no error).
 */
export function expandInclude(pattern: string, base: string): { files: string[]; wildcard: boolean } {
  const absolute = isAbsolute(pattern) ? pattern : resolve(base, pattern);
  const parts = absolute.split('/').filter(Boolean);
  const hasWildcard = parts.some((part) => /[*?[]/.test(part));
  let paths = ['/'];
  for (const part of parts) {
    if (!/[*?[]/.test(part)) {
      paths = paths.map((path) => join(path, part));
      continue;
    }
    const test = wildcard(part);
    paths = paths.flatMap((dir) => {
      if (!isDirectory(dir)) return [];
      return readdirSync(dir)
        .filter((name) => test.test(name) && (part.startsWith('.') || !name.startsWith('.')))
        .sort()
        .map((name) => join(dir, name));
    });
  }
  const files = paths.filter(exists).flatMap((path) => (isDirectory(path) ? filesBelow(path) : [path]));
  return { files, wildcard: hasWildcard };
}
