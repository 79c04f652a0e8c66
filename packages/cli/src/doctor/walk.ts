import { readdirSync, realpathSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import type { Finding } from './finding.js';
import { statOf } from './target-user.js';

/** A file under the root that a URL can name. */
export interface CandidateFile {
  /** Its path relative to the root, `/`-separated: the report's prefix. */
  readonly rel: string;
  /** URL segments below the mount. */
  readonly segments: readonly string[];
  /** Its real path (symlinks resolved): what the gateway executes. */
  readonly real: string;
  readonly stats: Stats;
}

// Names the gateway refuses in a URL segment (resolve-script.ts): never served, so not scripts.
const UNREACHABLE = /[\x00-\x1f\x7f\\]|[. ]$/;

/**
 * Lists every file a URL under the mount could name, recursively: hidden names (a leading
 * `.`) are skipped, as the gateway never serves them; symlinks whose real path leaves the
 * root are reported (the gateway refuses them) and not followed.
 */
export function listCandidates(root: string): { files: CandidateFile[]; notes: Finding[] } {
  const rootReal = realpathSync(root);
  const files: CandidateFile[] = [];
  const notes: Finding[] = [];
  const visited = new Set<string>([rootReal]);
  const note = (rel: string, message: string) =>
    notes.push({ script: rel, check: 'script', severity: 'info', message, fix: null });

  const visit = (dir: string, segments: readonly string[]) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (error) {
      note(segments.join('/') || '.', `cannot list this directory (${(error as NodeJS.ErrnoException).code})`);
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      const rel = [...segments, name].join('/');
      const stats = statOf(path);
      if (stats === undefined) {
        note(rel, 'a dangling symlink or unreadable entry: requests for it get 404');
        continue;
      }
      const real = realpathSync(path);
      if (real !== rootReal && !real.startsWith(rootReal + sep)) {
        note(rel, `its real path ${real} leaves the script root: the gateway refuses it (404)`);
        continue;
      }
      if (UNREACHABLE.test(name)) {
        note(rel, 'no URL reaches it: the gateway refuses names ending in "." or a space, or with control characters');
        continue;
      }
      if (stats.isDirectory()) {
        if (!visited.has(real)) {
          visited.add(real);
          visit(path, [...segments, name]);
        }
      } else if (stats.isFile()) {
        files.push({ rel, segments: [...segments, name], real, stats });
      }
    }
  };
  visit(root, []);
  return { files, notes };
}
