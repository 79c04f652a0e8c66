import { closeSync, openSync, readSync } from 'node:fs';
import { basename, dirname, extname, relative } from 'node:path';
import {
  type CgiConfig,
  type CgiFileProbe,
  checkShebang,
  findOnPath,
  parseShebang,
  resolveScript,
} from '@cgibridge/core';
import { checkAccess, reachNote } from './access.js';
import { dryRun } from './dry-run.js';
import { type Finding, Findings } from './finding.js';
import { checkSyntax, type Interpreter, languageOf } from './syntax.js';
import { describeMode, type TargetUser } from './target-user.js';
import type { CandidateFile } from './walk.js';

/** What every script's check shares. */
export interface DoctorContext {
  readonly config: CgiConfig;
  readonly user: TargetUser;
  /** `--run` was given. */
  readonly run: boolean;
  /** Bound on each syntax check and dry run. */
  readonly timeoutMs: number;
  /** The environment scripts get from the server (inherited allow-list, PATH, --env). */
  readonly scriptEnv: Record<string, string>;
  /** What a path is for the target user. */
  readonly probe: CgiFileProbe;
  /** Fixes name paths relative to this directory (where the user runs the doctor). */
  readonly cwd: string;
  /** Counts for the report's notes. */
  readonly tally: { perlCompiled: number };
}

/** The outcome for one file. */
export interface FileReport {
  readonly findings: Finding[];
  /** `false` for a data file that is not meant to run. */
  readonly isScript: boolean;
}

// Extensions that say "this is meant to run" even without an execute bit.
const SCRIPT_EXTENSIONS = new Set(['.cgi', '.py', '.pl', '.sh', '.bash', '.rb', '.php', '.tcl', '.lua', '.fcgi']);
const MAX_SOURCE = 1024 * 1024;

/** The first `bytes` bytes of a file (utf8/latin1 decoding left to the caller). */
function readStart(path: string, bytes: number): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** How a fix names a file: relative to where the doctor runs, unless that climbs out of it. */
function shownPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

function looksLikeScript(ext: string, head: Buffer): boolean {
  return SCRIPT_EXTENSIONS.has(ext) || parseShebang(head) !== undefined;
}

/** The interpreter a shebang line gives, as the kernel would invoke it (its argument is one word). */
function shebangInterpreter(head: Buffer): Interpreter | undefined {
  const shebang = parseShebang(head);
  if (shebang === undefined) return undefined;
  const argv = shebang.argument === undefined ? [shebang.interpreter] : [shebang.interpreter, shebang.argument];
  const name = shebang.env?.command ?? basename(shebang.interpreter);
  return { argv, name, language: languageOf(name) };
}

/** The mapped interpreter, if it is on the PATH scripts get. */
function mappedInterpreter(
  ext: string,
  argv: readonly string[],
  context: DoctorContext,
  findings: Findings,
): Interpreter | undefined {
  const command = argv[0] as string;
  if (findOnPath(command, context.scriptEnv.PATH, context.probe) === undefined) {
    const where = command.includes('/') ? reachNote(command, context.user) : ' on the PATH scripts get';
    findings.add(
      'interpreter',
      'error',
      `the interpreter "${command}" mapped for ${ext} is not an executable file${where}`,
      `install it or change --interpreter ${ext}=...`,
    );
    return undefined;
  }
  return { argv, name: basename(command), language: languageOf(command) };
}

/**
 * Runs the checklist on one file: batch file, script or data, executable bit or mapping,
 * access for the target user, shebang, syntax and imports, and with `--run` a dry run.
 */
export async function checkFile(file: CandidateFile, context: DoctorContext): Promise<FileReport> {
  const findings = new Findings(file.rel);
  const shown = shownPath(file.real, context.cwd);
  const ext = extname(file.real).toLowerCase();
  if (ext === '.bat' || ext === '.cmd') {
    findings.add(
      'executable',
      'error',
      'batch files (.bat, .cmd) are never run: requests for it get 403',
      'rewrite it as a script with a shebang line, or remove it',
    );
    return { findings: findings.list, isScript: true };
  }
  const mapped = context.config.interpreters.get(ext);
  const head = readStart(file.real, 512);
  if (mapped === undefined && (file.stats.mode & 0o111) === 0) {
    if (!looksLikeScript(ext, head) && file.segments.length > 0) {
      findings.add(
        'script',
        'info',
        `not a script (no execute bit, no interpreter for ${ext ? `"${ext}"` : 'it'}): a request for it gets 500 "not executable", never the file`,
      );
      return { findings: findings.list, isScript: false };
    }
    findings.add(
      'executable',
      'error',
      `not executable (${describeMode(file.stats)}) and no interpreter is mapped for ${ext ? `"${ext}"` : 'it'}`,
      `chmod +x ${shown}${ext ? ` (or serve with --interpreter ${ext}=<command>)` : ''}`,
    );
  }
  const reachable = checkAccess(file.real, shown, file.stats, context.user, mapped === undefined, findings);
  let interpreter: Interpreter | undefined;
  if (mapped !== undefined) {
    interpreter = mappedInterpreter(ext, mapped, context, findings);
  } else {
    const problem = checkShebang(head, {
      pathEnv: context.scriptEnv.PATH,
      probe: context.probe,
      name: shown,
      cwd: dirname(file.real),
    });
    if (problem === undefined) interpreter = shebangInterpreter(head);
    else {
      const note = problem.code.startsWith('interpreter')
        ? reachNote(parseShebang(head)?.interpreter ?? '', context.user)
        : '';
      findings.add('shebang', 'error', `${problem.problem}${note}`, problem.fix);
    }
  }
  // An interpreter that may not read the script would only repeat the access error.
  if (interpreter?.language !== undefined && reachable) {
    const source = readStart(file.real, MAX_SOURCE).toString('utf8');
    const compiledPerl = await checkSyntax(
      interpreter,
      {
        real: file.real,
        name: file.rel,
        shown,
        source,
        spec: { env: context.scriptEnv, timeoutMs: context.timeoutMs, user: context.user },
        run: context.run,
        pathEnv: context.scriptEnv.PATH,
      },
      findings,
    );
    if (compiledPerl) context.tally.perlCompiled++;
  }
  if (context.run && !findings.failed) await runOnce(file, context, findings);
  return { findings: findings.list, isScript: true };
}

/** Resolves the file as the gateway would for its URL, and runs it once. */
async function runOnce(file: CandidateFile, context: DoctorContext, findings: Findings): Promise<void> {
  const { config } = context;
  let match: Awaited<ReturnType<typeof resolveScript>>;
  try {
    match = await resolveScript(file.segments, config.mountPath, config);
  } catch (error) {
    findings.add('run', 'error', `the gateway refuses it: ${(error as Error).message}`, 'see the checks above');
    return;
  }
  if (match === null || 'directoryRedirect' in match) {
    findings.add('run', 'warning', `no URL under ${config.mountPath || '/'} runs it`, null);
    return;
  }
  await dryRun(match, config, context.timeoutMs, context.user, findings);
}
