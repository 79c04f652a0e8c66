import type { PathScope, Scope } from './evaluate.js';
import type { Mount } from './mount.js';

/** How much of a mount a directive's section covers. */
export type Coverage = 'all' | 'part' | 'none';

/** `a` is `b` or below it, on whole path segments. */
export function within(a: string, b: string): boolean {
  const base = b.replace(/\/+$/, '');
  return a === base || a.startsWith(`${base}/`) || base === '';
}

/** A Directory glob (`/home/*\/public_html`) as a regex over a path and what is below it. */
function globRegex(glob: string): RegExp {
  const source = glob
    .replace(/\/+$/, '')
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${source}(/|$)`);
}

function pathCoverage(scope: PathScope, path: string): Coverage {
  if (scope.match === 'prefix') {
    if (within(path, scope.path)) return 'all';
    return within(scope.path, path) ? 'part' : 'none';
  }
  let pattern: RegExp;
  try {
    pattern = scope.match === 'glob' ? globRegex(scope.path) : new RegExp(scope.path);
  } catch {
    return 'none';
  }
  return pattern.test(path) || pattern.test(`${path}/`) ? 'all' : 'none';
}

function lower(a: Coverage, b: Coverage): Coverage {
  return a === 'none' || b === 'none' ? 'none' : a === 'part' || b === 'part' ? 'part' : 'all';
}

/**
 * How much of a mount a directive applies to: its `<VirtualHost>` must be the mount's (or
 * none: server-wide), its `<Directory>` must hold the mount's directory (a subdirectory is
 * `part`), its `<Location>` the mount's URL, and a `<Files>` section is always `part`.
 */
export function coverage(scope: Scope, mount: Mount): Coverage {
  let result: Coverage = 'all';
  if (scope.vhost !== undefined && scope.vhost !== mount.vhost) {
    // A vhost's setting reaches a server-wide mount only for requests to that vhost.
    result = mount.vhost === undefined ? 'part' : 'none';
  }
  if (scope.directory !== undefined) result = lower(result, pathCoverage(scope.directory, mount.dir));
  if (scope.location !== undefined) result = lower(result, pathCoverage(scope.location, mount.options.mountPath));
  if (scope.files !== undefined) result = lower(result, 'part');
  return result;
}

/** How specific a section is, for httpd's merge order: server < vhost < directory < files < location. */
export function specificity(scope: Scope): number {
  if (scope.location !== undefined) return 4;
  if (scope.files !== undefined) return 3;
  if (scope.directory !== undefined) return 2;
  return scope.vhost === undefined ? 0 : 1;
}

/** Describes a section for messages: `<Directory /srv/cgi/admin>` in vhost `www.example.com`. */
export function describeScope(scope: Scope): string {
  const parts: string[] = [];
  if (scope.directory !== undefined) parts.push(`<Directory ${scope.directory.path}>`);
  if (scope.location !== undefined) parts.push(`<Location ${scope.location.path}>`);
  if (scope.files !== undefined) parts.push(`<Files ${scope.files}>`);
  if (scope.vhost !== undefined) parts.push(`vhost ${scope.vhost.serverName ?? scope.vhost.addresses}`);
  return parts.join(' in ') || 'the server';
}
