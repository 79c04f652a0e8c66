import { parseArgs } from 'node:util';
import type { CgiChunkedMode, CgiOptions } from '@cgibridge/core';

/** What `cgibridge serve` was asked to do. */
export interface ServeCommand {
  readonly command: 'serve';
  readonly port: number;
  readonly host: string;
  readonly quiet: boolean;
  readonly options: CgiOptions & { root: string; mountPath: string };
}

/** `cgibridge --help`, `cgibridge serve --help` or `cgibridge --version`. */
export interface InfoCommand {
  readonly command: 'help' | 'serve-help' | 'version';
}

/** A usage mistake: exit 2 with this one-line message and the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: cgibridge serve <dir> [options]

Serve the CGI scripts in <dir> (RFC 3875 CGI/1.1) on a plain Node HTTP server.

Commands:
  serve <dir>                  run the scripts in <dir> under --mount
  doctor [<dir>]               check the scripts for the classic CGI mistakes (see doctor --help)
  import-apache <file>         translate an Apache config's CGI directives (see import-apache --help)

Run "cgibridge serve --help" for the options.`;

export const SERVE_USAGE = `Usage: cgibridge serve <dir> [options]

Options:
  --port <n>                   port to listen on (default: $PORT or 8080; 0 picks a free one)
  --host <addr>                address to listen on (default: 127.0.0.1)
  --mount <path>               URL prefix of the scripts (default: /cgi-bin; "/" for the whole site)
  --timeout <duration>         wall-clock limit per script: 500ms, 10s, 2m (default: 30s)
  --kill-grace <duration>      wait between SIGTERM and SIGKILL (default: 2s)
  --max-concurrent <n>         scripts running at once; more get 503 (default: 64)
  --max-request-body <size>    largest request body: 512kb, 10mb, 1gb, unlimited (default: 10mb)
  --chunked-requests <mode>    chunked uploads: buffer, stream or reject (default: buffer)
  --env <KEY=VALUE>            set a variable for every script (repeatable)
  --inherit-env <NAME>         pass the server's variable NAME on to scripts (repeatable)
  --interpreter <.ext=cmd>     run *.ext with cmd, e.g. .py=python3 or ".pl=perl -T" (repeatable)
  --index <name>               script to run for a directory URL, e.g. index.cgi (repeatable)
  --trust-proxy <addr>         believe X-Forwarded-* from this address or CIDR range (repeatable)
  --document-root <dir>        DOCUMENT_ROOT, and where PATH_TRANSLATED maps PATH_INFO
  --pass-authorization         pass the Authorization header as HTTP_AUTHORIZATION
  --command-args               turn an indexed query (no "=") into script arguments (RFC 3875 4.4)
  --nph                        let nph-* scripts print their own HTTP status line
  --quiet                      do not log one line per request
  -h, --help                   show this help
  --version                    show the version

Durations take ms, s or m (a bare number is milliseconds); sizes take b, kb, mb or gb (1kb = 1024 bytes).
Scripts run directly (shebang line, executable bit) unless --interpreter maps their extension.`;

/** Parses `500ms`, `10s`, `2m` (a bare number is milliseconds). */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`${flag} must be a duration like 500ms, 10s or 2m (got "${text}")`);
  const factor = m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1;
  const ms = Math.round(Number(m[1]) * factor);
  if (ms < 1) throw new UsageError(`${flag} must be at least 1ms (got "${text}")`);
  return ms;
}

/** Parses `512kb`, `10mb`, `1gb`, a bare byte count, or `unlimited`. */
export function parseSize(flag: string, text: string): number {
  if (/^(unlimited|infinity)$/i.test(text.trim())) return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)(b|kb|k|mb|m|gb|g)?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`${flag} must be a size like 512kb, 10mb or 1gb (got "${text}")`);
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const factor = unit === 'g' ? 1024 ** 3 : unit === 'm' ? 1024 ** 2 : unit === 'k' ? 1024 : 1;
  return Math.floor(Number(m[1]) * factor);
}

function parseCount(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min} (got "${text}")`);
  }
  return Number(text);
}

function pairs(flag: string, items: readonly string[], check: (key: string) => boolean): Array<[string, string]> {
  return items.map((item) => {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq);
    if (eq <= 0 || !check(key))
      throw new UsageError(`${flag} must look like ${flag === '--env' ? 'KEY=VALUE' : '.ext=command'} (got "${item}")`);
    return [key, item.slice(eq + 1)];
  });
}

/**
 * Parses the command line.
 * @throws UsageError with a one-line message naming the flag.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ServeCommand | InfoCommand {
  let parsed: ReturnType<typeof parseSpec>;
  try {
    parsed = parseSpec(argv);
  } catch (error) {
    // parseArgs explains at length; the first sentence names the flag.
    throw new UsageError(((error as Error).message.split('\n')[0] ?? '').replace(/\. .*$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.version) return { command: 'version' };
  const [command, dir, ...extra] = positionals;
  if (command === undefined) {
    if (values.help) return { command: 'help' };
    throw new UsageError('missing command: expected "serve <dir>"');
  }
  if (command !== 'serve') throw new UsageError(`unknown command "${command}": expected "serve <dir>"`);
  if (values.help) return { command: 'serve-help' };
  if (dir === undefined) throw new UsageError('serve needs the directory of scripts: cgibridge serve <dir>');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);

  const options: CgiOptions & { root: string; mountPath: string } = {
    root: dir,
    mountPath: values.mount ?? '/cgi-bin',
  };
  if (values.timeout !== undefined) options.timeout = parseDuration('--timeout', values.timeout);
  if (values['kill-grace'] !== undefined) options.killGrace = parseDuration('--kill-grace', values['kill-grace']);
  if (values['max-concurrent'] !== undefined) {
    options.maxConcurrent = parseCount('--max-concurrent', values['max-concurrent'], 1);
  }
  if (values['max-request-body'] !== undefined) {
    options.maxRequestBody = parseSize('--max-request-body', values['max-request-body']);
  }
  if (values['chunked-requests'] !== undefined) {
    const mode = values['chunked-requests'];
    if (!['buffer', 'stream', 'reject'].includes(mode)) {
      throw new UsageError(`--chunked-requests must be buffer, stream or reject (got "${mode}")`);
    }
    options.chunkedRequests = mode as CgiChunkedMode;
  }
  if (values.env !== undefined) {
    options.env = Object.fromEntries(pairs('--env', values.env, (key) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)));
  }
  if (values['inherit-env'] !== undefined) options.inheritEnv = values['inherit-env'];
  if (values.interpreter !== undefined) {
    options.interpreters = Object.fromEntries(
      pairs('--interpreter', values.interpreter, (key) => /^\.[A-Za-z0-9_+-]+$/.test(key)).map(([ext, command]) => {
        const argv = command.trim().split(/\s+/).filter(Boolean);
        if (argv.length === 0) throw new UsageError(`--interpreter ${ext}= needs a command`);
        return [ext, argv];
      }),
    );
  }
  if (values.index !== undefined) options.index = values.index;
  if (values['trust-proxy'] !== undefined) options.trustProxy = values['trust-proxy'];
  if (values['document-root'] !== undefined) options.documentRoot = values['document-root'];
  if (values['pass-authorization']) options.passAuthorization = true;
  if (values['command-args']) options.commandArgs = true;
  if (values.nph) options.nph = true;

  const portText = values.port ?? env.PORT ?? '8080';
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`--port must be a port number 0-65535 (got "${portText}")`);
  }
  return {
    command: 'serve',
    port: Number(portText),
    host: values.host ?? '127.0.0.1',
    quiet: values.quiet === true,
    options,
  };
}

function parseSpec(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      mount: { type: 'string' },
      timeout: { type: 'string' },
      'kill-grace': { type: 'string' },
      'max-concurrent': { type: 'string' },
      'max-request-body': { type: 'string' },
      'chunked-requests': { type: 'string' },
      env: { type: 'string', multiple: true },
      'inherit-env': { type: 'string', multiple: true },
      interpreter: { type: 'string', multiple: true },
      index: { type: 'string', multiple: true },
      'trust-proxy': { type: 'string', multiple: true },
      'document-root': { type: 'string' },
      'pass-authorization': { type: 'boolean' },
      'command-args': { type: 'boolean' },
      nph: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}
