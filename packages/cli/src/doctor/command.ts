import { dirname } from 'node:path';
import type { CgiOptions } from '@cgibridge/core';
import { parseCommandLine, UsageError } from '../args.js';

/** What `cgibridge doctor` was asked to do. */
export interface DoctorCommand {
  readonly command: 'doctor';
  /** The gateway options the scripts will be served with (the `serve` flags), `root` or `script` set. */
  readonly options: CgiOptions & { mountPath: string };
  /** `--user NAME|UID:GID`: check (and, as root, run the checks) as that user. */
  readonly user: string | undefined;
  /** `--run`: also run each healthy script once with a synthetic GET. */
  readonly run: boolean;
  /** `--json`: print the findings as a JSON array instead of lines. */
  readonly json: boolean;
}

/** The text of `cgibridge doctor --help`. */
export const DOCTOR_USAGE = `Usage: cgibridge doctor [<dir> | --script <file>] [options]

Checks the CGI scripts in <dir> (default: the current directory), or one --script, the way an
Apache admin would: permissions along the path for the user scripts run as, executable bit or
interpreter mapping, the shebang line (BOM, CRLF, missing interpreter, env lookup), a syntax
check that does not run the script (python compile, sh -n, perl -c), Python modules that newer
interpreters removed (cgi, cgitb, ... PEP 594) or that are not installed.

Options:
  --script <file>              check this one script (a front controller) instead of a directory
  --user <name|uid:gid>        check as the user scripts will run as (default: this process's user);
                               as root, the syntax checks and --run also run as that user
  --run                        also run each script once with a GET (no body, no query) and check
                               its header block; legacy scripts may act on a GET, so only on request
  --json                       print a JSON array of {script, check, severity, message, fix}
  -h, --help                   show this help

It accepts every "cgibridge serve" flag (--interpreter, --env, --inherit-env, --index, --mount,
--timeout, ...) so that it checks the scripts as serve would run them. --timeout bounds each
syntax check and --run (default here: 10s).

Perl: "perl -c" loads the modules a script uses, which runs their import code; scripts with
BEGIN, CHECK or UNITCHECK blocks of their own are not compiled unless --run is given.
Exit status: 0 when nothing is wrong, 1 when an error or a warning was found, 2 on a usage error.`;

// Flags of doctor itself; everything else goes to the serve parser.
const OWN_BOOLEANS = new Set(['--run', '--json']);
const OWN_VALUES = new Set(['--script', '--user']);

/** Takes doctor's own flags out of argv (`--flag value` and `--flag=value` forms). */
function splitFlags(argv: readonly string[]): { own: Map<string, string | true>; rest: string[] } {
  const own = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (OWN_BOOLEANS.has(arg)) own.set(arg, true);
    else if (OWN_VALUES.has(name)) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      own.set(name, value);
    } else rest.push(arg);
  }
  return { own, rest };
}

/** The serve parser's verdict on the flags (`args` starts with the directory, if any). */
function serveOptions(args: readonly string[]): CgiOptions & { mountPath: string } {
  const parsed = parseCommandLine(['serve', ...args]);
  if (parsed.command !== 'serve') throw new UsageError('unexpected --version among the flags');
  return parsed.options;
}

/**
 * Parses `cgibridge doctor ...` (argv after the word `doctor`). Every flag but its own goes
 * through the serve parser, so both always accept the same ones; `--user` is doctor's own
 * until serve has it.
 * @returns the command, or `'help'`.
 * @throws UsageError naming the flag.
 */
export function parseDoctorArgs(argv: readonly string[]): DoctorCommand | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { own, rest } = splitFlags(argv);
  const script = own.get('--script');
  let options: CgiOptions & { mountPath: string };
  if (typeof script === 'string') {
    const { root: _root, ...shared } = serveOptions([dirname(script), ...rest]);
    options = { ...shared, script };
  } else {
    try {
      options = serveOptions(rest);
    } catch (error) {
      // The serve parser checks flags, then the directory, then values: a missing directory
      // means the flags parsed, so the current directory is checked (value errors show then).
      if (!(error instanceof UsageError) || !/^serve needs/.test(error.message)) throw error;
      options = serveOptions(['.', ...rest]);
    }
  }
  const user = own.get('--user');
  return {
    command: 'doctor',
    options,
    user: typeof user === 'string' ? user : undefined,
    run: own.get('--run') === true,
    json: own.get('--json') === true,
  };
}
