import { createReadStream, realpathSync, type Stats, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { CgiError, splitCgiPath, splitTarget } from '@cgibridge/core';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.pdf': 'application/pdf',
  '.woff2': 'font/woff2',
};

/** What decides that a file is a script, which is never served as a file. */
export type IsScript = (filename: string, stats: Stats) => boolean;

/** The file a URL path names under `root`, confined to its real path; `null` for none. */
function fileFor(root: string, rootReal: string, rawPath: string): { path: string; stats: Stats } | 'redirect' | null {
  let segments: string[];
  try {
    // The gateway's own path rules: decoded once, no dot segments, no encoded separators.
    segments = splitCgiPath(rawPath);
  } catch (error) {
    if (error instanceof CgiError) return null;
    throw error;
  }
  let path = join(root, ...segments);
  let stats = statSync(path, { throwIfNoEntry: false });
  if (stats?.isDirectory()) {
    if (!rawPath.endsWith('/')) return 'redirect';
    path = join(path, 'index.html');
    stats = statSync(path, { throwIfNoEntry: false });
  }
  if (stats === undefined || !stats.isFile()) return null;
  const real = realpathSync(path);
  if (!real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep)) return null;
  return { path: real, stats };
}

/**
 * Serves the files of a directory (`cgibridge serve --static DIR`), before the scripts: GET and
 * HEAD only, with the gateway's path rules and confinement (no dot segments, the real path inside
 * the directory), no listings (a directory serves its index.html), and never a file that would
 * run as a script (its source is never sent, even if the directories overlap). Anything else goes
 * to `next`.
 */
export function createStaticHandler(root: string, isScript: IsScript) {
  const rootReal = realpathSync(root);
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    const { path: rawPath, query } = splitTarget(req.url ?? '/');
    const found = fileFor(root, rootReal, rawPath);
    if (found === 'redirect') {
      res.writeHead(301, { Location: `${rawPath}/${query ? `?${query}` : ''}`, 'Content-Length': '0' }).end();
      return;
    }
    if (found === null || isScript(found.path, found.stats)) {
      next();
      return;
    }
    send(req, res, found.path, found.stats);
  };
}

function send(req: IncomingMessage, res: ServerResponse, path: string, stats: Stats): void {
  const modified = new Date(Math.floor(stats.mtimeMs / 1000) * 1000);
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  const headers = {
    'Content-Type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'Last-Modified': modified.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
  };
  if (!Number.isNaN(since) && modified.getTime() <= since) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': stats.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const file = createReadStream(path);
  file.once('error', () => res.destroy());
  res.once('close', () => file.destroy());
  file.pipe(res);
}
