import { basename, dirname } from 'node:path';
import {
  type CgiConfig,
  type CgiRequest,
  type CgiScriptMatch,
  collectHeaders,
  createCgiEnv,
  explainScriptFailure,
  localRequest,
  nodeFileProbe,
} from '@cgibridge/core';
import type { Findings } from './finding.js';
import { checkOutput } from './header-check.js';
import { runProcess } from './run-process.js';
import type { TargetUser } from './target-user.js';

const RAW_HEADERS = ['Host', 'localhost', 'User-Agent', 'cgibridge-doctor', 'Accept', '*/*'];

/** A GET for the script's URL with no query and no body, as a local client would send it. */
function syntheticGet(match: CgiScriptMatch, mountPath: string): CgiRequest {
  return localRequest({ id: 'doctor', target: match.scriptName, mountPath, rawHeaders: RAW_HEADERS });
}

function tail(stderr: string, lines = 5): string {
  return stderr.trim().split('\n').slice(-lines).join(' | ');
}

/**
 * Runs a script once as the gateway would for `GET <its URL>` (RFC 3875 environment built by
 * the gateway's own code, stdin empty, time limit, process group killed), then checks its
 * header block, its exit status and what it wrote to stderr.
 */
export async function dryRun(
  match: CgiScriptMatch,
  config: CgiConfig,
  timeoutMs: number,
  user: TargetUser,
  findings: Findings,
): Promise<void> {
  const request = syntheticGet(match, config.mountPath);
  const env = createCgiEnv(request, match, config, collectHeaders(RAW_HEADERS), null);
  const outcome = await runProcess(match.command, match.args, {
    cwd: dirname(match.filename),
    env,
    timeoutMs,
    user,
    maxStdout: config.maxResponseHeaderBytes,
  });
  const name = basename(match.filename);
  const stderr = outcome.stderr.trim() === '' ? '' : `; its stderr ends: ${tail(outcome.stderr)}`;
  if (outcome.spawnError !== undefined) {
    findings.add('run', 'error', `cannot start it (${outcome.spawnError})`, 'see the checks above');
    return;
  }
  if (outcome.timedOut) {
    findings.add(
      'run',
      'error',
      `still running after ${timeoutMs} ms: killed (its process group)${stderr}`,
      'make it exit after printing its response (or raise --timeout if it is just slow)',
    );
  }
  const nph = config.nph && name.startsWith('nph-');
  const truncated = outcome.stdoutBytes > outcome.stdout.length;
  for (const problem of checkOutput(outcome.stdout, name, nph, truncated)) {
    findings.add('run', 'error', `GET ${match.scriptName}: ${problem.message}`, problem.fix);
  }
  if (outcome.timedOut) return;
  if (outcome.exitCode !== 0) {
    const known = explainScriptFailure({
      head: undefined,
      direct: match.command === match.filename,
      exitCode: outcome.exitCode,
      stdoutBytes: outcome.stdoutBytes,
      stderr: outcome.stderr,
      pathEnv: env.PATH,
      probe: nodeFileProbe,
    });
    const status = outcome.signal === null ? `exit status ${outcome.exitCode}` : `signal ${outcome.signal}`;
    findings.add(
      'run',
      'error',
      `GET ${match.scriptName}: ended with ${status}${known === undefined ? '' : `: ${known.problem}`}${stderr}`,
      known?.fix ?? 'read its stderr; exit 0 after a complete response',
    );
  } else if (stderr !== '') {
    findings.add('run', 'info', `GET ${match.scriptName}: wrote to stderr (the server logs it)${stderr}`);
  }
}
