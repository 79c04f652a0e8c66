import type { Directive, Untranslated } from './evaluate.js';
import { type Mount, targetOptions } from './mount.js';

/** A mount, or why there is none. */
export type AliasOutcome = { readonly mount: Mount } | { readonly untranslated: Untranslated };

function skip(directive: Directive, why: string): AliasOutcome {
  return { untranslated: { where: directive.where, text: directive.text, why } };
}

function mount(directive: Directive, url: string, target: string, notes: string[]): AliasOutcome {
  const { options, note } = targetOptions(url, target);
  return {
    mount: {
      options,
      vhost: directive.scope.vhost,
      source: directive,
      origin: 'script-alias',
      dir: options.root ?? (target.replace(/\/[^/]*$/, '') || '/'),
      extensions: undefined,
      notes: note === undefined ? notes : [note, ...notes],
    },
  };
}

/**
 * `ScriptAlias /url /path` (or, inside `<Location /url>`, `ScriptAlias /path`): a mount at the
 * URL, a root for a directory target, a script for a file target.
 */
export function scriptAlias(directive: Directive): AliasOutcome {
  const { args, scope } = directive;
  if (args.length === 2) return mount(directive, args[0] as string, args[1] as string, []);
  if (args.length === 1 && scope.location?.match === 'prefix') {
    return mount(directive, scope.location.path, args[0] as string, []);
  }
  return skip(directive, 'expected "ScriptAlias URL-path target" (or one target inside a plain <Location>)');
}

/** A regex's literal start (`^/cgi-bin/` → `/cgi-bin/`), and the rest, or `undefined` if not anchored. */
function literalPrefix(regex: string): { prefix: string; rest: string } | undefined {
  if (!regex.startsWith('^')) return undefined;
  let prefix = '';
  let i = 1;
  for (; i < regex.length; i++) {
    const c = regex[i] as string;
    if (c === '\\' && /[./\-_~]/.test(regex[i + 1] ?? '')) {
      prefix += regex[++i];
    } else if (/[A-Za-z0-9/_~-]/.test(c)) {
      prefix += c;
    } else break;
  }
  // A quantifier binds to the character before it, which is then not literal.
  if (/^[?*+{]/.test(regex.slice(i)) && prefix !== '') return { prefix: prefix.slice(0, -1), rest: regex.slice(i - 1) };
  return { prefix, rest: regex.slice(i) };
}

const WHOLE_REST = /^\((?:\.\*|\.\+)\)\$?$/;
const ANY_REST = /^(?:\.\*|\.\+)?\$?$/;
const ONE_GROUP = /^\(([^()]*)\)\$?$/;

/**
 * `ScriptAliasMatch regex target`. httpd substitutes the captures into the target and does
 * NOT append the rest of the URL, so only these forms are a plain mount:
 *  - `^/prefix/(.*)` → `/dir/$1`: a mount at /prefix with root /dir;
 *  - `^/prefix/(<pattern>)$` → `/dir/$1`: the same mount, where Apache ran only matching names;
 *  - `^/prefix.*` → `/dir/` (no capture): Apache maps every such URL to the directory itself,
 *    surely meant as the mount /prefix with root /dir (said so in a note).
 * Captures used elsewhere in the target (per-user directories) and unanchored or
 * case-insensitive regexes are not translated.
 */
export function scriptAliasMatch(directive: Directive): AliasOutcome {
  const [regex = '', target = ''] = directive.args;
  if (directive.args.length !== 2) return skip(directive, 'expected "ScriptAliasMatch regex target"');
  const split = literalPrefix(regex);
  if (split === undefined || split.prefix === '' || !split.prefix.startsWith('/')) {
    return skip(
      directive,
      'the regex does not start with ^/ and a literal path, so it matches more than one URL prefix: route those URLs in the app to cgi() mounts',
    );
  }
  const url = split.prefix;
  const refs = [...target.matchAll(/\$(\d)/g)].map((m) => m[1]);
  const boundary = url.endsWith('/')
    ? []
    : [`the regex also matches ${url}X... (no "/" after ${url}); the mount matches ${url} and ${url}/... only`];
  if (refs.length === 0 && ANY_REST.test(split.rest)) {
    const dir = target.endsWith('/');
    return mount(directive, url, target, [
      ...boundary,
      dir
        ? `Apache does not append the rest of the URL to a ScriptAliasMatch target without captures: as written, every ${url}... URL maps to the directory ${target} itself, never to a script in it. Taken as the evident intent, "ScriptAliasMatch ^${url.replace(/\/$/, '')}/(.*) ${target}$1": a mount at ${url.replace(/\/$/, '') || '/'} with root ${target}`
        : `every ${url}... URL ran ${target} (without PATH_INFO in Apache); cgibridge runs it for ${url} and below, with the rest of the path as PATH_INFO`,
    ]);
  }
  const targetPrefix = target.slice(0, target.length - 2);
  if (refs.length === 1 && refs[0] === '1' && target.endsWith('$1') && !targetPrefix.includes('$')) {
    if (WHOLE_REST.test(split.rest)) return mount(directive, url, targetPrefix || '/', boundary);
    const group = ONE_GROUP.exec(split.rest);
    if (group !== null) {
      return mount(directive, url, targetPrefix || '/', [
        ...boundary,
        `Apache ran only names matching (${group[1]}); cgibridge runs any file under the root: keep only those scripts there`,
      ]);
    }
  }
  return skip(
    directive,
    refs.length > 0
      ? `the target builds a path from captures (${refs.map((n) => `$${n}`).join(', ')}), e.g. per-user directories: cgibridge mounts fixed directories, so add one mount per directory or route these URLs in the app`
      : `the part after ${url} (${split.rest}) is a pattern cgibridge cannot express: a mount at ${url} would run every file below it`,
  );
}
