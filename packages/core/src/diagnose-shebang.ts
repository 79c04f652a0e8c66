/**
 * Why a script cannot start, from its first bytes: pure functions over the file head,
 * the `PATH` scripts get and a file probe the caller supplies (so they run anywhere:
 * in the gateway after a failed spawn, in `cgibridge doctor` as another user, in tests).
 *
 * The shebang rules are the Linux kernel's (fs/binfmt_script.c): after `#!`, blanks are
 * skipped, the interpreter runs to the next blank, and the rest of the line, trailing blanks
 * removed, is passed as ONE argument. A carriage return is not a blank, so a CRLF file asks
 * for `/usr/bin/python3\r`, or has `env` look for a command named `python3\r`.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { pythonModuleProblem } from './removed-modules.js';

/** What a path is, for the user scripts run as. `executable`: a file that user may execute. */
export type CgiFileKind = 'missing' | 'directory' | 'file' | 'executable';

/**
 * Tells what a path is (following symlinks), e.g. via `statSync` and `accessSync(X_OK)`;
 * {@link nodeFileProbe} is the ready-made one for the current user.
 */
export type CgiFileProbe = (path: string) => CgiFileKind;

/**
 * The {@link CgiFileProbe} for the current process's user: `stat` (following symlinks) and
 * `access(X_OK)`. A path that cannot be examined (`EACCES` on a directory above it) is `file`.
 */
export function nodeFileProbe(path: string): CgiFileKind {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'file';
  }
  if (isDirectory) return 'directory';
  try {
    accessSync(path, constants.X_OK);
    return 'executable';
  } catch {
    return 'file';
  }
}

/** A script's `#!` line as the kernel reads it. */
export interface CgiShebang {
  /** The interpreter path, as the kernel sees it (a trailing `\r` kept). */
  readonly interpreter: string;
  /** The single optional argument: the rest of the line, trailing blanks removed (a `\r` kept). */
  readonly argument: string | undefined;
  /** A UTF-8 byte order mark precedes `#!`: the kernel sees no shebang at all. */
  readonly bom: boolean;
  /** The line ends with a carriage return (a file saved with CRLF line ends). */
  readonly crlf: boolean;
  /** Set when the interpreter is `env` (`#!/usr/bin/env python3`): what env will look for. */
  readonly env: CgiEnvCommand | undefined;
}

/** The command `#!/usr/bin/env NAME` runs. */
export interface CgiEnvCommand {
  /** The command env looks up on `PATH` (or runs as is when it holds a `/`). */
  readonly command: string;
  /** Arguments env passes on (only with `env -S`). */
  readonly args: readonly string[];
  /** The one kernel argument holds several words but no `-S`: env looks for a command named "python3 -u". */
  readonly joined: boolean;
}

/** Something that stops a script, and what to do about it. */
export interface CgiScriptDiagnosis {
  /** Stable identifier of the problem, e.g. `crlf-shebang`. */
  readonly code: CgiDiagnosisCode;
  /** What is wrong, in words a CGI author understands (names the file's own bytes where useful). */
  readonly problem: string;
  /** What to do, e.g. `convert to LF, e.g. dos2unix hello.py`. */
  readonly fix: string;
}

/** Problems {@link checkShebang} and {@link explainScriptFailure} name. */
export type CgiDiagnosisCode =
  | 'bom-before-shebang'
  | 'no-shebang'
  | 'empty-shebang'
  | 'crlf-shebang'
  | 'relative-interpreter'
  | 'interpreter-not-found'
  | 'interpreter-not-executable'
  | 'env-arguments-joined'
  | 'env-command-not-found'
  | 'module-removed'
  | 'module-not-found';

/** Context for the checks. */
export interface CgiShebangContext {
  /** `PATH` as scripts get it; `undefined` means unset (execvp then searches `/bin:/usr/bin`). */
  readonly pathEnv: string | undefined;
  /** What a path is, as the user scripts run as. */
  readonly probe: CgiFileProbe;
  /** How to name the script in a fix (`chmod +x <name>`). Default `the script`. */
  readonly name?: string | undefined;
  /** Directory relative `PATH` entries (and `''`) resolve against: the script's. Default `.`. */
  readonly cwd?: string | undefined;
}

const BOM = [0xef, 0xbb, 0xbf];
// What the kernel executes without a shebang line (see resolve-script.ts).
const BINARY_MAGIC = ['\x7fELF', '\xcf\xfa\xed\xfe', '\xce\xfa\xed\xfe', '\xca\xfe\xba\xbe', 'MZ'];
// execvp's search path when PATH is unset (glibc's confstr(_CS_PATH)).
const DEFAULT_PATH = '/bin:/usr/bin';

function latin1(head: Uint8Array | string): string {
  if (typeof head === 'string') return head;
  let text = '';
  for (const byte of head.subarray(0, 512)) text += String.fromCharCode(byte);
  return text;
}

function quoted(text: string): string {
  return JSON.stringify(text);
}

/**
 * Parses the `#!` line of a file head (give at least its first 256 bytes: the kernel reads no more).
 * @returns the shebang, or `undefined` when the file does not start with `#!` (nor with a BOM and `#!`).
 * @example `parseShebang('#!/usr/bin/env python3\r\n')` → `{ interpreter: '/usr/bin/env', argument: 'python3\r', crlf: true, env: { command: 'python3\r', ... } }`
 */
export function parseShebang(head: Uint8Array | string): CgiShebang | undefined {
  const text = latin1(head);
  const bom = BOM.every((byte, i) => text.charCodeAt(i) === byte);
  const start = bom ? 3 : 0;
  if (!text.startsWith('#!', start)) return undefined;
  const newline = text.indexOf('\n', start);
  const line = text.slice(start + 2, newline === -1 ? undefined : newline).replace(/[ \t]+$/, '');
  const m = /^[ \t]*([^ \t]*)[ \t]*(.*)$/s.exec(line) as RegExpExecArray;
  const interpreter = m[1] as string;
  const argument = m[2] === '' ? undefined : m[2];
  const crlf = line.endsWith('\r');
  return { interpreter, argument, bom, crlf, env: envCommand(interpreter, argument) };
}

function envCommand(interpreter: string, argument: string | undefined): CgiEnvCommand | undefined {
  if (!/(^|\/)env$/.test(interpreter) || argument === undefined) return undefined;
  const split = /^-S[ \t]*/.exec(argument);
  if (split === null) {
    // The kernel hands env one argument; env takes it whole as the command name.
    return { command: argument, args: [], joined: /[ \t]/.test(argument.replace(/\r$/, '')) };
  }
  // env -S splits the rest; leading VAR=value assignments and options are not the command.
  const words = argument
    .slice(split[0].length)
    .split(/[ \t]+/)
    .filter(Boolean);
  const at = words.findIndex((word) => !word.startsWith('-') && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word));
  return { command: words[at] ?? '', args: at === -1 ? [] : words.slice(at + 1), joined: false };
}

/** Whether a file head is a binary format the kernel runs itself (ELF, Mach-O, PE). */
export function isBinaryExecutable(head: Uint8Array | string): boolean {
  const text = latin1(head);
  return BINARY_MAGIC.some((magic) => text.startsWith(magic));
}

/**
 * Looks a command up on a `PATH` string the way execvp does: the first entry where it is
 * an executable file wins; entries where it is not executable are skipped.
 * @returns the full path, or `undefined`. A name holding `/` is probed as is.
 */
export function findOnPath(
  command: string,
  pathEnv: string | undefined,
  probe: CgiFileProbe,
  cwd = '.',
): string | undefined {
  if (command === '') return undefined;
  if (command.includes('/')) return probe(command) === 'executable' ? command : undefined;
  for (const entry of (pathEnv ?? DEFAULT_PATH).split(':')) {
    const dir = entry === '' ? cwd : entry.startsWith('/') ? entry : `${cwd}/${entry}`;
    const candidate = `${dir.replace(/\/+$/, '')}/${command}`;
    if (probe(candidate) === 'executable') return candidate;
  }
  return undefined;
}

// A family's usual names, to suggest one that exists: python9 -> python3.
const FAMILIES: ReadonlyArray<readonly [RegExp, readonly string[]]> = [
  [/^python/, ['python3', 'python']],
  [/^perl/, ['perl']],
  [/^(ba|da|k|z)?sh$/, ['sh', 'bash']],
  [/^ruby/, ['ruby']],
  [/^php/, ['php-cgi', 'php']],
  [/^node/, ['node']],
];

/** An interpreter of the same family that exists on PATH, as a shebang suggestion. */
function alternative(name: string, context: CgiShebangContext): string | undefined {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const family = FAMILIES.find(([pattern]) => pattern.test(base));
  for (const candidate of family?.[1] ?? []) {
    const found = findOnPath(candidate, context.pathEnv, context.probe, context.cwd);
    if (found !== undefined) return found;
  }
  return undefined;
}

// What a script's extension suggests for a shebang line it lacks.
const BY_EXTENSION: Readonly<Record<string, string>> = {
  '.py': 'python3',
  '.pl': 'perl',
  '.sh': 'sh',
  '.bash': 'bash',
  '.rb': 'ruby',
  '.php': 'php-cgi',
};

function extensionOf(name: string): string {
  const m = /(\.[^./]+)$/.exec(name);
  return m === null ? '' : (m[1] as string).toLowerCase();
}

function diagnosis(code: CgiDiagnosisCode, problem: string, fix: string): CgiScriptDiagnosis {
  return { code, problem, fix };
}

/**
 * Checks that a file can be executed directly: a shebang line the kernel and `env` will
 * follow to an interpreter that exists, or a binary format.
 *
 * @param head - the file's first bytes (at least 256).
 * @returns the first problem found, or `undefined` when the script would start.
 * @example
 * ```ts
 * checkShebang(readHead('x.py'), { pathEnv: process.env.PATH, probe: nodeFileProbe, name: 'x.py' })
 * // { code: 'crlf-shebang', problem: '…', fix: 'convert to LF, e.g. dos2unix x.py' }
 * ```
 */
export function checkShebang(head: Uint8Array | string, context: CgiShebangContext): CgiScriptDiagnosis | undefined {
  const name = context.name ?? 'the script';
  const shebang = parseShebang(head);
  if (shebang === undefined) {
    if (isBinaryExecutable(head)) return undefined;
    const guess = BY_EXTENSION[extensionOf(name)] ?? 'python3';
    // /bin/sh is the one path POSIX systems agree on; anything else is best found through env.
    const line = guess === 'sh' ? '#!/bin/sh' : `#!/usr/bin/env ${guess}`;
    return diagnosis(
      'no-shebang',
      'no shebang line (#!) and not a binary: it cannot be executed directly',
      `add one as its first line, e.g. "${line}", or map its extension to an interpreter`,
    );
  }
  if (shebang.bom) {
    return diagnosis(
      'bom-before-shebang',
      'a UTF-8 byte order mark (BOM) precedes "#!", so the kernel does not see the shebang line',
      `save it as UTF-8 without BOM, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' ${name}`,
    );
  }
  if (shebang.interpreter === '' || shebang.interpreter === '\r') {
    return diagnosis('empty-shebang', 'the shebang line names no interpreter', 'write the interpreter after "#!"');
  }
  if (shebang.crlf) return crlfDiagnosis(shebang, name);
  return checkInterpreter(shebang, context);
}

function crlfDiagnosis(shebang: CgiShebang, name: string): CgiScriptDiagnosis {
  const fix = `convert to LF, e.g. dos2unix ${name} (or sed -i 's/\\r$//' ${name})`;
  const lookup =
    shebang.env !== undefined
      ? `env looks for a command named ${quoted(shebang.env.command)} and exits 127 ("No such file or directory")`
      : shebang.argument === undefined
        ? `the kernel looks for the interpreter ${quoted(shebang.interpreter)}`
        : `the interpreter gets the argument ${quoted(shebang.argument)}`;
  return diagnosis('crlf-shebang', `the shebang line ends with a carriage return (CRLF line ends): ${lookup}`, fix);
}

function checkInterpreter(shebang: CgiShebang, context: CgiShebangContext): CgiScriptDiagnosis | undefined {
  const { interpreter } = shebang;
  if (!interpreter.startsWith('/')) {
    const base = interpreter.slice(interpreter.lastIndexOf('/') + 1);
    return diagnosis(
      'relative-interpreter',
      `the shebang names ${quoted(interpreter)}, a relative path: the kernel looks for it in the script's directory`,
      `use an absolute path or env, e.g. "#!/usr/bin/env ${base}"`,
    );
  }
  const kind = context.probe(interpreter);
  if (kind !== 'executable') {
    const other = alternative(interpreter, context);
    const suggestion = other === undefined ? '' : ` (e.g. "#!${other}")`;
    const base = interpreter.slice(interpreter.lastIndexOf('/') + 1);
    return kind === 'missing'
      ? diagnosis(
          'interpreter-not-found',
          `the interpreter ${quoted(interpreter)} named in the shebang line does not exist`,
          `install ${base} or change the shebang${suggestion}`,
        )
      : diagnosis(
          'interpreter-not-executable',
          `the interpreter ${quoted(interpreter)} named in the shebang line is ${kind === 'directory' ? 'a directory' : 'not executable'}`,
          `change the shebang${suggestion}`,
        );
  }
  const env = shebang.env;
  if (env === undefined) return undefined;
  if (env.joined) {
    return diagnosis(
      'env-arguments-joined',
      `"#!${interpreter} ${env.command}": the kernel passes "${env.command}" as one argument, so env looks for a command of that name`,
      `use "#!${interpreter} -S ${env.command}" (coreutils 8.30+) or the interpreter's absolute path`,
    );
  }
  if (findOnPath(env.command, context.pathEnv, context.probe, context.cwd) === undefined) {
    const other = alternative(env.command, context);
    const suggestion =
      other === undefined ? '' : `, e.g. "#!${interpreter} ${other.slice(other.lastIndexOf('/') + 1)}"`;
    return diagnosis(
      'env-command-not-found',
      `"#!${interpreter} ${env.command}": ${env.command} is not on the PATH scripts get (${context.pathEnv ?? `unset: ${DEFAULT_PATH}`}); env exits 127`,
      `install ${env.command} on that PATH, change the shebang${suggestion}, or give scripts a PATH that has it`,
    );
  }
  return undefined;
}

/** What is known about a script that failed to start or ended without a response. */
export interface CgiFailureFacts extends CgiShebangContext {
  /** The script's first bytes (at least 256), or `undefined` when they could not be read. */
  readonly head: Uint8Array | string | undefined;
  /** `true` when the script itself was executed, `false` when an interpreter mapping ran it. */
  readonly direct: boolean;
  /** The spawn error code (`ENOENT`, `EACCES`, `ENOEXEC`), when the spawn failed. */
  readonly spawnError?: string | undefined;
  /** The exit status, when it ran. */
  readonly exitCode?: number | null | undefined;
  /** Bytes it wrote to stdout. */
  readonly stdoutBytes?: number | undefined;
  /** The end of what it wrote to stderr. */
  readonly stderr?: string | undefined;
}

/**
 * Explains a script that could not start or died early, for a log line: a shebang problem
 * when the exec failed (or `env` exited 126/127 with no output), else a module its
 * interpreter lacks, recognised in its stderr (Python's `No module named 'cgi'`, Perl's
 * `Can't locate CGI.pm in @INC`).
 *
 * @returns the diagnosis, or `undefined` when nothing known explains it.
 * @example
 * ```ts
 * explainScriptFailure({ head, direct: true, exitCode: 127, stdoutBytes: 0, pathEnv: env.PATH, probe: nodeFileProbe })
 * // for "#!/usr/bin/env python3\r": { code: 'crlf-shebang', ... }
 * ```
 */
export function explainScriptFailure(facts: CgiFailureFacts): CgiScriptDiagnosis | undefined {
  const execFailed =
    facts.spawnError !== undefined ||
    ((facts.exitCode === 126 || facts.exitCode === 127) && (facts.stdoutBytes ?? 0) === 0);
  if (facts.direct && execFailed && facts.head !== undefined) {
    const found = checkShebang(facts.head, facts);
    if (found !== undefined) return found;
  }
  return facts.stderr === undefined ? undefined : moduleProblem(facts.stderr);
}

/** A module the interpreter could not find, named in its error output. */
function moduleProblem(stderr: string): CgiScriptDiagnosis | undefined {
  const python = /(?:ModuleNotFoundError|ImportError): No module named '?([A-Za-z0-9_.]+)'?/.exec(stderr);
  if (python !== null) {
    const name = python[1] as string;
    // Not found at run time: whatever the version, the module is gone for this interpreter.
    const known = pythonModuleProblem(name, undefined);
    if (known !== undefined) return diagnosis('module-removed', known.problem, known.fix);
    return diagnosis(
      'module-not-found',
      `Python module ${quoted(name)} is not installed for the interpreter the script gets`,
      `install it for that interpreter (e.g. ${quoted(`python3 -m pip install ${name.split('.')[0]}`)}) or add its directory to PYTHONPATH in the scripts' environment`,
    );
  }
  const perl = /Can't locate ([A-Za-z0-9_/]+)\.pm in @INC/.exec(stderr);
  if (perl !== null) {
    const module = (perl[1] as string).replaceAll('/', '::');
    const core =
      module === 'CGI' ? ' (CGI.pm left the Perl core in 5.22: apt install libcgi-pm-perl, dnf install perl-CGI)' : '';
    return diagnosis(
      'module-not-found',
      `Perl module ${module} is not installed for the perl the script gets`,
      `install it, e.g. cpanm ${module}${core}`,
    );
  }
  return undefined;
}
