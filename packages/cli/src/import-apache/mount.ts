import { statSync } from 'node:fs';
import type { Directive, Vhost } from './evaluate.js';

/** The core options an imported mount can carry, by their core names. */
export interface MountOptions {
  mountPath: string;
  root?: string;
  script?: string;
  documentRoot?: string;
  index?: string[];
  env?: Record<string, string>;
  inheritEnv?: string[];
  passAuthorization?: boolean;
  /** Milliseconds. */
  timeout?: number;
  /** Bytes, or `Infinity` (printed as `"unlimited"` in JSON). */
  maxRequestBody?: number;
  /** `NAME` or `UID:GID`: the user scripts run as. */
  runAs?: string;
}

/** A URL prefix where Apache ran CGI scripts, and how cgibridge will serve it. */
export interface Mount {
  readonly options: MountOptions;
  readonly vhost: Vhost | undefined;
  /** The directive that made it a CGI location. */
  readonly source: Directive;
  /** `ScriptAlias`-style (every file a script) or an `ExecCGI` directory (only handler extensions). */
  readonly origin: 'script-alias' | 'exec-cgi';
  /** The directory the scripts are in (the root, or the script's directory). */
  readonly dir: string;
  /** Extensions `AddHandler cgi-script` gives (ExecCGI directories); `undefined`: every file. */
  readonly extensions: readonly string[] | undefined;
  /** What the user should know about this mount in particular. */
  readonly notes: string[];
}

/** `/cgi-bin/` → `/cgi-bin`; `/` → `` (the whole site). */
export function mountPathOf(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Whether a path on this machine is a directory, a file, or not there. */
export function kindOf(path: string): 'directory' | 'file' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'file';
  } catch {
    return 'missing';
  }
}

// A file name that reads like a script, not a directory.
const SCRIPT_NAME = /\.(cgi|pl|py|sh|rb|php|fcgi|exe)$/i;

/**
 * A ScriptAlias target as a root directory or a single script: a trailing slash or a directory
 * here means a root; a file here, or a script-like name, means one script.
 */
export function targetOptions(url: string, target: string): { options: MountOptions; note: string | undefined } {
  const mountPath = mountPathOf(url);
  const kind = kindOf(target);
  if (target.endsWith('/') || kind === 'directory' || (kind === 'missing' && !SCRIPT_NAME.test(target))) {
    const note = kind === 'missing' ? `${target} does not exist on this machine: taken as a directory` : undefined;
    return { options: { mountPath, root: target.replace(/(.)\/+$/, '$1') }, note };
  }
  const note = kind === 'missing' ? `${target} does not exist on this machine: taken as a script` : undefined;
  return { options: { mountPath, script: target }, note };
}
