import { readdirSync, statSync } from 'node:fs';

interface Listing {
  readonly ino: number;
  readonly mtimeMs: number;
  /** Entry names up to their first dot: `random` for random.py, random/, random.cpython-311-x86_64-linux-gnu.so. */
  readonly stems: ReadonlySet<string>;
}

/** A directory changed this recently may change again within the same mtime tick: not cached. */
const RACY_MS = 2000;

/**
 * Answers whether a script's directory (its `sys.path[0]`) holds a module or package named
 * like one the zygote preloaded: a cold run would import that file, the warm child already has
 * the standard-library module. Listings are cached per directory and revalidated by a stat of
 * the directory on every call.
 */
export class ShadowCheck {
  private readonly listings = new Map<string, Listing>();

  constructor(private readonly maxEntries = 1024) {}

  /** The first name in `dir` that shadows one of `names`, `''` when the directory cannot be read, or `undefined`. */
  find(dir: string, names: ReadonlySet<string>): string | undefined {
    const listing = this.list(dir);
    if (listing === undefined) return '';
    const [few, many] = listing.stems.size <= names.size ? [listing.stems, names] : [names, listing.stems];
    for (const name of few) if (many.has(name)) return name;
    return undefined;
  }

  private list(dir: string): Listing | undefined {
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(dir);
    } catch {
      return undefined;
    }
    const cached = this.listings.get(dir);
    if (cached !== undefined && cached.ino === stats.ino && cached.mtimeMs === stats.mtimeMs) return cached;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return undefined;
    }
    const stems = new Set(names.map((n) => n.split('.', 1)[0] as string));
    const listing = { ino: stats.ino, mtimeMs: stats.mtimeMs, stems };
    if (Date.now() - stats.mtimeMs > RACY_MS) {
      if (this.listings.size >= this.maxEntries) this.listings.clear();
      this.listings.set(dir, listing);
    }
    return listing;
  }
}
