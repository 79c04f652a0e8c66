import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type CgiConfig, createCgiGateway } from '@cgibridge/core';
import { UsageError } from '../args.js';
import { probeAs } from './access.js';
import { checkFile, type DoctorContext } from './check-script.js';
import { DOCTOR_USAGE, type DoctorCommand, parseDoctorArgs } from './command.js';
import type { Finding } from './finding.js';
import { exitCodeOf, formatJson, formatText } from './report.js';
import { currentUser, resolveUser, type TargetUser, UnknownUserError } from './target-user.js';
import { type CandidateFile, listCandidates } from './walk.js';

export { DOCTOR_USAGE, type DoctorCommand, parseDoctorArgs } from './command.js';
export type { Finding } from './finding.js';

// Doctor runs scripts only to check them: a shorter default bound than serve's 30 s.
const DEFAULT_TIMEOUT_MS = 10_000;

/** The options as the gateway resolves them (validation messages name the option). */
function configOf(command: DoctorCommand): CgiConfig {
  return createCgiGateway({ ...command.options, logger: false }).config;
}

function candidates(config: CgiConfig): { files: CandidateFile[]; notes: Finding[] } {
  if (config.script !== undefined) {
    const real = config.script.real;
    return {
      files: [{ rel: basename(config.script.path), segments: [], real, stats: statSync(real) }],
      notes: [],
    };
  }
  const root = (config.root as { path: string }).path;
  const listed = listCandidates(root);
  const index = config.index;
  if (index.length > 0 && !index.some((name) => existsSync(join(root, name)))) {
    listed.notes.push({
      script: '.',
      check: 'index',
      severity: 'info',
      message: `no ${index.join(' or ')} in the root: the mount's directory URL gets 404`,
      fix: null,
    });
  }
  return listed;
}

/**
 * Runs `cgibridge doctor` on a parsed command and writes its report to stdout.
 * @returns the exit status: 0 nothing wrong, 1 errors or warnings found.
 */
export async function runDoctor(command: DoctorCommand, config: CgiConfig, user: TargetUser): Promise<0 | 1> {
  const scriptEnv: Record<string, string> = { ...config.baseEnv };
  if (typeof config.env === 'object') Object.assign(scriptEnv, config.env);
  const context: DoctorContext = {
    config,
    user,
    run: command.run,
    timeoutMs: command.options.timeout ?? DEFAULT_TIMEOUT_MS,
    scriptEnv,
    probe: probeAs(user),
    cwd: process.cwd(),
    tally: { perlCompiled: 0 },
  };
  const { files, notes } = candidates(config);
  const findings: Finding[] = [...notes];
  if (!user.current && process.getuid?.() !== 0) {
    findings.push({
      script: '.',
      check: 'access',
      severity: 'info',
      message: `permissions are checked for ${user.name}, but the syntax checks${command.run ? ' and --run' : ''} ran as ${currentUser().name} (switching users needs root)`,
      fix: null,
    });
  }
  let scripts = 0;
  for (const file of files) {
    const report = await checkFile(file, context);
    if (report.isScript) scripts++;
    findings.push(...report.findings);
  }
  findings.sort((a, b) => (a.script < b.script ? -1 : a.script > b.script ? 1 : 0));
  process.stdout.write(
    command.json
      ? formatJson(findings)
      : formatText(findings, {
          scripts,
          otherFiles: files.length - scripts,
          perlCompiled: context.tally.perlCompiled,
        }),
  );
  return exitCodeOf(findings);
}

/**
 * `cgibridge doctor ...` from argv (after the word `doctor`): parses, validates, runs.
 * @returns the exit status (2 for a usage error).
 */
export async function doctorMain(argv: readonly string[]): Promise<number> {
  let command: DoctorCommand | 'help';
  let config: CgiConfig;
  let user: TargetUser;
  try {
    command = parseDoctorArgs(argv);
    if (command === 'help') {
      process.stdout.write(`${DOCTOR_USAGE}\n`);
      return 0;
    }
    user = command.user === undefined ? currentUser() : resolveUser(command.user);
    config = configOf(command);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof UnknownUserError || error instanceof TypeError)) throw error;
    const message = error.message
      .replace(/^cgibridge: /, '')
      .replace(/option "root"/, '<dir>')
      .replace(/option "script"/, '--script');
    process.stderr.write(`cgibridge: ${message}\n${error instanceof UsageError ? `\n${DOCTOR_USAGE}\n` : ''}`);
    return 2;
  }
  return runDoctor(command, config, user);
}
