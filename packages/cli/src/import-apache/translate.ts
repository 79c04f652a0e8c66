import type { ApacheConfig, Directive, Untranslated } from './evaluate.js';
import { execCgiMounts } from './exec-cgi.js';
import type { Mount } from './mount.js';
import { coverage } from './scope.js';
import { type AliasOutcome, scriptAlias, scriptAliasMatch } from './script-alias.js';
import { applySettings } from './settings.js';
import { unsupported } from './unsupported.js';

/** The result of an import: mounts, what did not carry over, and the behaviour differences. */
export interface Translation {
  readonly mounts: Mount[];
  readonly untranslated: Untranslated[];
  /** Where cgibridge behaves differently from the Apache setup, in words. */
  readonly differences: string[];
}

function has(directives: readonly Directive[], ...names: string[]): boolean {
  return directives.some((directive) => names.includes(directive.name));
}

/** The behaviour differences worth knowing for this config. */
function differences(directives: readonly Directive[], mounts: readonly Mount[]): string[] {
  const out: string[] = [];
  out.push(
    has(directives, 'timeout', 'cgiscripttimeout', 'cgidscripttimeout')
      ? "Timeout: Apache's Timeout/CGIScriptTimeout is an idle timeout (no output for that long); cgibridge's timeout is a wall-clock limit on the whole script, so a script that streams for longer is cut off: raise it for long reports."
      : "Timeout: none set, so Apache allowed 60 s without output (idle); cgibridge's default is 30 s wall-clock for the whole script.",
  );
  if (mounts.some((mount) => mount.options.maxRequestBody === Number.POSITIVE_INFINITY)) {
    out.push(
      'LimitRequestBody 0 means unlimited in Apache: maxRequestBody is "unlimited" in the JSON (what --max-request-body takes) and Infinity in JavaScript.',
    );
  }
  if (!has(directives, 'limitrequestbody')) {
    out.push(
      "LimitRequestBody: none set, so Apache allowed 1 GiB (2.4.54+; unlimited before); cgibridge's default maxRequestBody is the same 1 GiB.",
    );
  }
  out.push(
    mounts.some((mount) => mount.options.documentRoot !== undefined)
      ? 'DOCUMENT_ROOT: set from DocumentRoot (documentRoot), which also makes PATH_TRANSLATED = DocumentRoot + PATH_INFO as in Apache; the directory must exist where cgibridge runs.'
      : "DOCUMENT_ROOT: Apache sets the vhost's DocumentRoot; cgibridge sets the script root unless documentRoot is given.",
  );
  out.push(
    "Environment: Apache gives scripts PATH plus SetEnv/PassEnv; cgibridge also passes LANG, LC_ALL, LC_CTYPE, TZ and TMPDIR unless inheritEnv is set (it is set from PassEnv here when there was one). REMOTE_USER comes from the app's user(req), never from the Authorization header.",
  );
  if (mounts.some((mount) => mount.options.runAs !== undefined)) {
    out.push('runAs: switching to another user needs the Node server to run as root, as Apache did.');
  }
  if (mounts.some((mount) => mount.vhost !== undefined)) {
    out.push(
      'Virtual hosts: cgibridge has none; route by Host in the app (e.g. the vhost middleware) or run one server per vhost. Each mount says which vhost it came from.',
    );
  }
  return out;
}

/** `file:line` order: by file name, then line number. */
function byPlace(a: Untranslated, b: Untranslated): number {
  const [fileA = '', lineA = '0'] = a.where.split(/:(?=\d+$)/);
  const [fileB = '', lineB = '0'] = b.where.split(/:(?=\d+$)/);
  return fileA.localeCompare(fileB) || Number(lineA) - Number(lineB);
}

/** `AddHandler cgi-script .py` over a ScriptAlias directory: nothing to translate, but say how those files run. */
function noteHandlers(directives: readonly Directive[], mounts: readonly Mount[]): void {
  for (const directive of directives) {
    if (directive.name !== 'addhandler' || directive.args[0]?.toLowerCase() !== 'cgi-script') continue;
    const extensions = directive.args.slice(1).join(' ');
    for (const mount of mounts) {
      if (mount.origin !== 'script-alias' || coverage(directive.scope, mount) === 'none') continue;
      mount.notes.push(
        `${directive.where}: AddHandler cgi-script ${extensions}: every file of a ScriptAlias directory is a script already; ${extensions} files run directly (shebang line and execute bit) as in Apache; map them with interpreters only if they lack those`,
      );
    }
  }
}

/**
 * Translates a read Apache config: ScriptAlias/ScriptAliasMatch mounts, ExecCGI directories,
 * then the settings that apply to each (SetEnv, PassEnv, CGIPassAuth, DirectoryIndex,
 * Timeout, LimitRequestBody, User/Group...), and what cannot be expressed.
 */
export function translate(config: ApacheConfig): Translation {
  const { directives } = config;
  const untranslated: Untranslated[] = [...config.untranslated];
  const mounts: Mount[] = [];
  for (const directive of directives) {
    let outcome: AliasOutcome | undefined;
    if (directive.name === 'scriptalias') outcome = scriptAlias(directive);
    else if (directive.name === 'scriptaliasmatch') outcome = scriptAliasMatch(directive);
    if (outcome === undefined) continue;
    if ('mount' in outcome) mounts.push(outcome.mount);
    else untranslated.push(outcome.untranslated);
  }
  const exec = execCgiMounts(directives, mounts);
  mounts.push(...exec.mounts);
  untranslated.push(...exec.untranslated);
  untranslated.push(...applySettings(directives, mounts));
  untranslated.push(...unsupported(directives, mounts));
  noteHandlers(directives, mounts);
  untranslated.sort(byPlace);
  return { mounts, untranslated, differences: differences(directives, mounts) };
}
