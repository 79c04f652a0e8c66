import type { Directive, Untranslated, Vhost } from './evaluate.js';
import { type Mount, mountPathOf } from './mount.js';
import { within } from './scope.js';

/** Whether an `Options` line turns ExecCGI on (`true`), off (`false`), or leaves it (`undefined`). */
function execCgiOf(args: readonly string[]): boolean | undefined {
  let state: boolean | undefined;
  for (const arg of args) {
    const word = arg.toLowerCase();
    if (word === '+execcgi' || word === 'execcgi' || word === 'all') state = true;
    else if (word === '-execcgi' || word === 'none') state = false;
    // A list without +/- replaces the whole set: ExecCGI is off unless named.
    else if (!/^[+-]/.test(word) && state === undefined) state = false;
  }
  return state;
}

function sameVhost(directive: Directive, vhost: Vhost | undefined): boolean {
  return directive.scope.vhost === undefined || directive.scope.vhost === vhost;
}

/** The URL prefix a directory is served under: through an `Alias`, else below the `DocumentRoot`. */
function urlOf(dir: string, vhost: Vhost | undefined, directives: readonly Directive[]): string | undefined {
  const applicable = directives.filter((d) => sameVhost(d, vhost) && d.scope.directory === undefined);
  // Longest alias target first, vhost settings before server-wide ones.
  const aliases = applicable
    .filter((d) => d.name === 'alias' && d.args.length === 2)
    .sort((a, b) => (b.args[1] as string).length - (a.args[1] as string).length);
  for (const alias of aliases) {
    const [url = '', target = ''] = alias.args;
    const base = target.replace(/\/+$/, '');
    if (within(dir, base)) return mountPathOf(url) + dir.slice(base.length);
  }
  const roots = applicable.filter((d) => d.name === 'documentroot');
  const root = (roots.find((d) => d.scope.vhost === vhost) ?? roots[roots.length - 1])?.args[0]?.replace(/\/+$/, '');
  if (root !== undefined && within(dir, root)) return dir.slice(root.length);
  return undefined;
}

/** The extensions `AddHandler cgi-script` gives a directory (its own, its parents', the vhost's, the server's). */
function handlerExtensions(dir: string, vhost: Vhost | undefined, directives: readonly Directive[]): string[] | 'all' {
  const inScope = directives.filter(
    (d) =>
      sameVhost(d, vhost) &&
      d.scope.files === undefined &&
      (d.scope.directory === undefined ||
        (d.scope.directory.match === 'prefix' && within(dir, d.scope.directory.path))),
  );
  if (inScope.some((d) => d.name === 'sethandler' && d.args[0]?.toLowerCase() === 'cgi-script')) return 'all';
  return inScope
    .filter((d) => d.name === 'addhandler' && d.args[0]?.toLowerCase() === 'cgi-script')
    .flatMap((d) => d.args.slice(1))
    .map((ext) => (ext.startsWith('.') ? ext : `.${ext}`).toLowerCase());
}

/**
 * Directories where `Options +ExecCGI` and a `cgi-script` handler (AddHandler by extension,
 * or SetHandler) make files scripts, outside any ScriptAlias: each becomes a mount at the URL
 * its Alias or DocumentRoot gives it.
 */
export function execCgiMounts(
  directives: readonly Directive[],
  aliased: readonly Mount[],
): { mounts: Mount[]; untranslated: Untranslated[] } {
  const mounts: Mount[] = [];
  const untranslated: Untranslated[] = [];
  for (const options of directives.filter((d) => d.name === 'options' && d.scope.directory !== undefined)) {
    if (execCgiOf(options.args) !== true) continue;
    const scope = options.scope.directory as NonNullable<typeof options.scope.directory>;
    const vhost = options.scope.vhost;
    const skip = (why: string) => untranslated.push({ where: options.where, text: options.text, why });
    if (scope.match !== 'prefix') {
      skip(
        `ExecCGI in ${scope.match === 'glob' ? 'a wildcard' : 'a regex'} <Directory ${scope.path}> (e.g. per-user directories): add one mount per directory`,
      );
      continue;
    }
    const dir = scope.path.replace(/\/+$/, '');
    if (aliased.some((m) => within(dir, m.dir)) || mounts.some((m) => m.dir === dir)) continue;
    const extensions = handlerExtensions(dir, vhost, directives);
    if (extensions !== 'all' && extensions.length === 0) {
      skip(
        `ExecCGI on ${dir}, but no "AddHandler cgi-script" or "SetHandler cgi-script" applies there: Apache ran no scripts in it`,
      );
      continue;
    }
    const url = urlOf(dir, vhost, directives);
    if (url === undefined) {
      skip(
        `no Alias or DocumentRoot maps a URL onto ${dir}: give the mount path yourself (app.use('/path', cgi({ root: '${dir}' })))`,
      );
      continue;
    }
    const notes =
      extensions === 'all'
        ? []
        : [
            `Apache ran only ${extensions.join(', ')} files in ${dir} as scripts and served the other files as they are; cgibridge treats every file under the root as a script (others get 500): serve those with a static middleware that skips ${extensions.join(', ')}, never exposing script sources`,
          ];
    mounts.push({
      options: { mountPath: mountPathOf(url), root: dir },
      vhost,
      source: options,
      origin: 'exec-cgi',
      dir,
      extensions: extensions === 'all' ? undefined : extensions,
      notes,
    });
  }
  return { mounts, untranslated };
}
