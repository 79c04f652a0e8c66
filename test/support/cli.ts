import { type ChildProcess, type StdioOptions, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The bin npm links at the repository root: what a user runs. */
export const CLI = fileURLToPath(new URL('../../node_modules/.bin/cgibridge', import.meta.url));

export interface RunningCli {
  readonly proc: ChildProcess;
  /** The URL the CLI printed, e.g. http://127.0.0.1:40123/cgi-bin/ */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  /** stdout and stderr as they came, interleaved. */
  readonly output: () => string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/**
 * Starts `cgibridge serve <args>` and waits for the line that announces its URL.
 * `shell` is run first by bash (dash takes single-digit descriptors only), which then execs the CLI (so the pid is the server's):
 * e.g. `ulimit -n 60`, or `exec 7</dev/null` to hand it a descriptor without close-on-exec.
 */
export async function startCli(args: string[], shell?: string): Promise<RunningCli> {
  const argv = ['serve', ...args, '--port', '0'];
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
  const proc =
    shell === undefined
      ? spawn(CLI, argv, { stdio })
      : spawn('bash', ['-c', `${shell} && exec "$0" "$@"`, CLI, ...argv], { stdio });
  let output = '';
  let stdout = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    stdout += chunk;
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start:\n${output}`)), 15_000);
    const check = () => {
      // The text line, or the JSON line's msg (--log-format json).
      const match = /serving .* at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    proc.stdout?.on('data', check);
    void exited.then(() => reject(new Error(`CLI exited early:\n${output}`)));
  });
  const origin = new URL(url).origin;
  return {
    proc,
    url,
    origin,
    port: Number(new URL(url).port),
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs the CLI to completion (for usage errors and help). */
export function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(CLI, args, { encoding: 'utf8', timeout: 15_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
