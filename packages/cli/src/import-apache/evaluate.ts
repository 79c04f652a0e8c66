import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { expandInclude } from './include.js';
import { type ConfigLine, tokenize } from './lexer.js';

/** A `<VirtualHost>` section. */
export interface Vhost {
  /** Its addresses, e.g. `*:443`. */
  readonly addresses: string;
  /** `file:line` of the section. */
  readonly where: string;
  /** From its `ServerName`, once read. */
  serverName: string | undefined;
}

/** A path a `<Directory>`/`<Location>` section applies to. */
export interface PathScope {
  readonly path: string;
  /** `prefix`: a plain path; `regex`: `~`/`...Match`; `glob`: shell wildcards in a Directory. */
  readonly match: 'prefix' | 'regex' | 'glob';
}

/** Where a directive sits. */
export interface Scope {
  readonly vhost: Vhost | undefined;
  readonly directory: PathScope | undefined;
  readonly location: PathScope | undefined;
  /** A `<Files>`/`<FilesMatch>` pattern. */
  readonly files: string | undefined;
}

/** A directive in effect, with its place in the section tree. */
export interface Directive extends ConfigLine {
  readonly scope: Scope;
  /** `file:line`. */
  readonly where: string;
}

/** Something the importer does not carry over, and why. */
export interface Untranslated {
  readonly where: string;
  readonly text: string;
  readonly why: string;
}

/** The config as httpd would read it (conditions decided, includes inlined). */
export interface ApacheConfig {
  readonly directives: Directive[];
  readonly untranslated: Untranslated[];
}

/** How to read the config. */
export interface ReadOptions {
  /** Names defined as with `httpd -D NAME` / `Define NAME value` (for `<IfDefine>` and `${NAME}`). */
  readonly defines?: ReadonlyMap<string, string>;
  /** What relative `Include` paths start from; default: `ServerRoot` if set, else the main file's directory. */
  readonly serverRoot?: string | undefined;
}

interface Frame {
  readonly line: ConfigLine;
  readonly active: boolean;
  readonly scope: Scope;
}

const NO_SCOPE: Scope = { vhost: undefined, directory: undefined, location: undefined, files: undefined };

/** Reads the state of one config walk: what is defined, where relative paths go, what was seen. */
class Reader {
  readonly defines: Map<string, string>;
  readonly directives: Directive[] = [];
  readonly untranslated: Untranslated[] = [];
  readonly #reading = new Set<string>();
  readonly #base: string;
  serverRoot: string | undefined;

  constructor(main: string, options: ReadOptions) {
    this.defines = new Map(options.defines);
    this.serverRoot = options.serverRoot;
    this.#base = dirname(resolve(main));
  }

  /** How messages name a file: relative to the main file's directory when below it. */
  shown(path: string): string {
    const rel = relative(this.#base, path);
    return rel.startsWith('..') ? path : rel;
  }

  skip(line: ConfigLine, why: string): void {
    this.untranslated.push({ where: `${line.file}:${line.line}`, text: line.text, why });
  }

  /** `${NAME}` replaced from the defines; unknown names are left as written. */
  substitute(text: string): string {
    return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => this.defines.get(name) ?? whole);
  }

  readFile(path: string, scope: Scope): void {
    const absolute = resolve(path);
    if (this.#reading.has(absolute)) return;
    this.#reading.add(absolute);
    this.walk(tokenize(readFileSync(absolute, 'utf8'), this.shown(absolute)), scope, dirname(absolute));
    this.#reading.delete(absolute);
  }

  walk(lines: readonly ConfigLine[], top: Scope, dir: string): void {
    const stack: Frame[] = [];
    const scope = () => stack[stack.length - 1]?.scope ?? top;
    const active = () => stack.every((frame) => frame.active);
    for (const raw of lines) {
      const line = { ...raw, args: raw.args.map((arg) => this.substitute(arg)) };
      if (line.kind === 'close') {
        const frame = stack.pop();
        if (frame?.line.name !== line.name) this.skip(line, 'closes a section that was not open here');
        continue;
      }
      if (line.kind === 'open') {
        stack.push(this.open(line, scope(), active()));
        continue;
      }
      if (active()) this.directive(line, scope(), dir);
    }
    for (const frame of stack) this.skip(frame.line, 'section not closed in this file');
  }

  open(line: ConfigLine, scope: Scope, parentActive: boolean): Frame {
    const [first = '', ...rest] = line.args;
    const negated = first.startsWith('!');
    const name = negated ? first.slice(1) : first;
    const where = `${line.file}:${line.line}`;
    switch (line.name) {
      // Modules are taken as loaded: a config that tests for one usually means to use it.
      case 'ifmodule':
        return { line, active: !negated, scope };
      case 'ifdefine':
        return { line, active: this.defines.has(name) !== negated, scope };
      case 'if':
      case 'elseif':
      case 'else':
        if (parentActive) this.skip(line, 'an <If> expression is decided per request: its content was not imported');
        return { line, active: false, scope };
      case 'virtualhost':
        return {
          line,
          active: true,
          scope: { ...NO_SCOPE, vhost: { addresses: line.args.join(' '), where, serverName: undefined } },
        };
      case 'directory':
      case 'directorymatch':
        return { line, active: true, scope: { ...scope, directory: pathScope(line, first, rest) } };
      case 'location':
      case 'locationmatch':
        return { line, active: true, scope: { ...scope, location: pathScope(line, first, rest) } };
      case 'files':
      case 'filesmatch':
        return { line, active: true, scope: { ...scope, files: line.args.join(' ') } };
      default:
        // <IfVersion>, <IfFile>, <Limit>, <RequireAll>, ...: their content applies as it stands.
        return { line, active: true, scope };
    }
  }

  directive(line: ConfigLine, scope: Scope, dir: string): void {
    switch (line.name) {
      case 'define':
        this.defines.set(line.args[0] ?? '', line.args[1] ?? '');
        return;
      case 'undefine':
        this.defines.delete(line.args[0] ?? '');
        return;
      case 'serverroot':
        this.serverRoot = line.args[0];
        return;
      case 'include':
      case 'includeoptional':
        this.include(line, scope, dir);
        return;
      case 'servername':
        if (scope.vhost !== undefined) scope.vhost.serverName = line.args[0];
        break;
      default:
    }
    this.directives.push({ ...line, scope, where: `${line.file}:${line.line}` });
  }

  include(line: ConfigLine, scope: Scope, dir: string): void {
    const pattern = line.args[0] ?? '';
    // httpd resolves relative paths against ServerRoot; without one (or when a copied config's
    // ServerRoot does not hold the file), the including file's directory.
    let { files, wildcard } = expandInclude(pattern, this.serverRoot ?? dir);
    if (files.length === 0 && this.serverRoot !== undefined) ({ files, wildcard } = expandInclude(pattern, dir));
    if (files.length === 0 && !(wildcard || line.name === 'includeoptional')) {
      this.skip(line, `nothing found at ${pattern} (relative to ${this.serverRoot ?? dir}; give --server-root)`);
    }
    for (const file of files) this.readFile(file, scope);
  }
}

function pathScope(line: ConfigLine, first: string, rest: readonly string[]): PathScope {
  if (line.name.endsWith('match')) return { path: first, match: 'regex' };
  if (first === '~') return { path: rest[0] ?? '', match: 'regex' };
  return { path: first, match: /[*?[]/.test(first) ? 'glob' : 'prefix' };
}

/**
 * Reads an Apache config file and everything it includes, deciding `<IfDefine>`/`<IfModule>`
 * (modules taken as loaded) and skipping `<If>` (per request), into directives that know
 * their `<VirtualHost>`, `<Directory>`, `<Location>` and `<Files>` sections.
 */
export function readApacheConfig(file: string, options: ReadOptions = {}): ApacheConfig {
  const reader = new Reader(file, options);
  reader.readFile(file, NO_SCOPE);
  return { directives: reader.directives, untranslated: reader.untranslated };
}
