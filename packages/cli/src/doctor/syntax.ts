import { dirname } from 'node:path';
import { explainScriptFailure, nodeFileProbe } from '@cgibridge/core';
import type { Findings } from './finding.js';
import { PYTHON_CHECKER, pythonFindings } from './python-check.js';
import { type ProcessSpec, runProcess } from './run-process.js';

/** The languages the doctor can check without running the script. */
export type Language = 'python' | 'perl' | 'shell';

/** The interpreter a script gets, as an argv prefix the script path is appended to. */
export interface Interpreter {
  /** `['/usr/bin/env', 'python3']`, `['/usr/bin/perl', '-wT']`, `['python3', '-B']` (a mapping). */
  readonly argv: readonly string[];
  /** The command's name, for messages: `python3`. */
  readonly name: string;
  readonly language: Language | undefined;
}

/** Which language a command name runs, from its base name. */
export function languageOf(command: string): Language | undefined {
  const base = command.slice(command.lastIndexOf('/') + 1);
  if (/^python/.test(base)) return 'python';
  if (/^perl/.test(base)) return 'perl';
  if (/^(sh|bash|dash|ksh|mksh|zsh|ash)$/.test(base)) return 'shell';
  return undefined;
}

// Perl blocks that "perl -c" runs, outside POD and after __END__ excluded.
const PERL_COMPILE_TIME = /^[ \t]*(BEGIN|CHECK|UNITCHECK)[ \t]*\{/m;

function perlCodeOf(source: string): string {
  return source.replace(/^=[A-Za-z][\s\S]*?^=cut\b.*$/gm, '').split(/^__(?:END|DATA)__\s*$/m)[0] ?? '';
}

/** What a syntax check needs: where and how to run, how to name things. */
export interface SyntaxContext {
  readonly real: string;
  /** How messages name it: its path relative to the root. */
  readonly name: string;
  /** How fixes name it: a path from where the doctor runs. */
  readonly shown: string;
  readonly source: string;
  readonly spec: Omit<ProcessSpec, 'cwd'>;
  /** `--run` was given: the user accepts running code. */
  readonly run: boolean;
  readonly pathEnv: string | undefined;
}

/**
 * Checks a script's syntax with its own interpreter without running it: Python compiles it
 * (and reports imports), `sh -n` parses it, `perl -c` compiles it (which runs `use` imports and
 * BEGIN blocks: scripts with their own BEGIN/CHECK/UNITCHECK blocks are skipped unless --run).
 * @returns whether it ran "perl -c", for the report's caveat.
 */
export async function checkSyntax(
  interpreter: Interpreter,
  context: SyntaxContext,
  findings: Findings,
): Promise<boolean> {
  const spec = { ...context.spec, cwd: dirname(context.real) };
  const [command, ...args] = interpreter.argv as [string, ...string[]];
  switch (interpreter.language) {
    case 'python': {
      const outcome = await runProcess(command, [...args, '-c', PYTHON_CHECKER, context.real], spec);
      pythonFindings(outcome, interpreter.name, context.source, findings);
      return false;
    }
    case 'shell': {
      if (context.source.includes('\r\n')) {
        findings.add(
          'syntax',
          'error',
          'CRLF line ends: the shell reads each "\\r" as part of the last word (e.g. "$\'\\r\': command not found")',
          `convert to LF, e.g. dos2unix ${context.shown}`,
        );
      }
      const outcome = await runProcess(command, [...args, '-n', context.real], spec);
      reportFailure(outcome, interpreter, context, findings, `${interpreter.name} -n`);
      return false;
    }
    case 'perl': {
      const block = PERL_COMPILE_TIME.exec(perlCodeOf(context.source));
      if (block !== null && !context.run) {
        findings.add(
          'syntax',
          'info',
          `not compiled: "perl -c" would run its ${block[1]} block; pass --run to check it anyway`,
        );
        return false;
      }
      const outcome = await runProcess(command, [...args, '-c', context.real], spec);
      reportFailure(outcome, interpreter, context, findings, `${interpreter.name} -c`);
      return true;
    }
    default:
      return false;
  }
}

/** A failed `sh -n` or `perl -c`: a missing module, or the syntax error it printed. */
function reportFailure(
  outcome: Awaited<ReturnType<typeof runProcess>>,
  interpreter: Interpreter,
  context: SyntaxContext,
  findings: Findings,
  label: string,
): void {
  if (outcome.exitCode === 0 && !outcome.timedOut) return;
  if (outcome.spawnError !== undefined || outcome.timedOut) {
    const why = outcome.timedOut ? 'timed out' : `cannot start (${outcome.spawnError})`;
    findings.add('interpreter', 'error', `${label} ${why}`, `make "${interpreter.name}" work for the scripts' user`);
    return;
  }
  const module = explainScriptFailure({
    head: undefined,
    direct: false,
    stderr: outcome.stderr,
    pathEnv: context.pathEnv,
    probe: nodeFileProbe,
  });
  if (module !== undefined) {
    findings.add('imports', 'error', module.problem, module.fix);
    return;
  }
  const lines = outcome.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/had compilation errors|syntax OK$/.test(line))
    .map((line) => line.replaceAll(context.real, context.name));
  const line = /line (\d+)/.exec(lines[0] ?? '')?.[1] ?? /: (\d+): /.exec(lines[0] ?? '')?.[1];
  findings.add(
    'syntax',
    'error',
    `${label}: ${lines.slice(0, 3).join(' | ') || `exit status ${outcome.exitCode}`}`,
    line === undefined ? `correct the script (run: ${label} ${context.shown})` : `correct line ${line}`,
  );
}
