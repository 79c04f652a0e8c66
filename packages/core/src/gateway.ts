import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { basename } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { parseCommandArgs } from './command-args.js';
import { collectHeaders, createCgiEnv } from './create-env.js';
import { warnAboutInheritedDescriptors } from './descriptors.js';
import { CgiError } from './errors.js';
import { LengthCheck } from './length-check.js';
import { drainStderr } from './log-stderr.js';
import { quoteForLog } from './logger.js';
import { type CgiConfig, type CgiOptions, resolveCgiOptions } from './options.js';
import { CgiHeaderReader, type CgiResponseHead, parseCgiHeaders } from './parse-headers.js';
import type { CgiRequest } from './request.js';
import { type PreparedBody, prepareBody } from './request-body.js';
import { type CgiScriptMatch, resolveScript, splitCgiPath } from './resolve-script.js';
import { explainSpawnError, groupAlive, signalGroup, spawnScript } from './spawn-script.js';

/** RFC 3875 §6.2.2 does not bound local redirects; Apache stops at 10, and so do we. */
export const MAX_LOCAL_REDIRECTS = 10;

/** A response to send: a document or a client redirect, body still streaming. */
export interface CgiDocumentResult {
  readonly kind: 'document' | 'client-redirect';
  readonly status: number;
  readonly statusText: string | undefined;
  /** Header fields in the script's order; repeated names (`Set-Cookie`) kept as separate entries. */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  /**
   * The body, or `null` when the response has none (HEAD, 204, 304). It errors when
   * the response must be aborted (timeout, length mismatch): destroy the connection then.
   */
  readonly body: Readable | null;
  /** `SCRIPT_NAME` of the script, when one ran. */
  readonly scriptName: string | undefined;
}

/** The script asked the server to answer another local path instead (RFC 3875 §6.2.2). */
export interface CgiLocalRedirectResult {
  readonly kind: 'local-redirect';
  /** The path (and query) to serve as a fresh GET. */
  readonly location: string;
  readonly scriptName: string;
}

/** What {@link CgiGateway.run} produces. */
export type CgiResult = CgiDocumentResult | CgiLocalRedirectResult;

/**
 * The framework-neutral engine: a request in, a response description out. The
 * `node:http` handler, the adapters and the CLI are all thin layers over it.
 */
export interface CgiGateway {
  /** The validated configuration. */
  readonly config: CgiConfig;
  /** Scripts running now. */
  readonly running: number;
  /**
   * Runs the script a request names.
   * @returns the response to send, or `null` when no script matches (fall through to the next handler).
   * @throws CgiError before any response header exists (its `status` says what to answer).
   */
  run(request: CgiRequest): Promise<CgiResult | null>;
  /**
   * Reports a request the gateway answered without running `run` (e.g. a 404 from a
   * handler with nowhere to fall through), so that `onEvent` sees every request.
   */
  report(request: CgiRequest, status: number, errorCode?: string): void;
  /** Kills every running script (whole process groups) and resolves when all have exited. */
  close(): Promise<void>;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Creates the gateway engine. Options are validated here, once.
 * @throws TypeError naming a wrong option.
 */
export function createCgiGateway(options: CgiOptions): CgiGateway {
  const config = resolveCgiOptions(options);
  const { logger } = config;
  const children = new Set<ChildProcessWithoutNullStreams>();
  /** SIGKILLs still to be sent, by process group id. */
  const pendingKills = new Map<number, Promise<void>>();
  /** Scripts running or about to start (a slot is taken before a chunked body is buffered). */
  let slots = 0;
  warnAboutInheritedDescriptors(logger);

  /** SIGTERM to the whole process group now, SIGKILL after `killGrace` (whatever ignored SIGTERM). */
  function killGroup(child: ChildProcessWithoutNullStreams): void {
    const pgid = child.pid;
    if (pgid === undefined || pendingKills.has(pgid)) return;
    signalGroup(child, 'SIGTERM');
    const done = new Promise<void>((resolve) =>
      setTimeout(() => {
        signalGroup(child, 'SIGKILL');
        pendingKills.delete(pgid);
        resolve();
      }, config.killGrace),
    );
    pendingKills.set(pgid, done);
  }

  /**
   * Spawns, turning the failures that leave no usable child (no descriptors or
   * processes left, an environment Node refuses) into errors instead of crashes.
   */
  function startChild(match: CgiScriptMatch, args: readonly string[], env: Record<string, string>) {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawnScript(match, args, env);
    } catch (error) {
      throw new CgiError('ERR_CGI_SPAWN', 502, `cannot start the script (${(error as Error).message})`, {
        cause: error,
      });
    }
    // stdio is missing when the pipes could not be created (EMFILE, ENFILE): Node then
    // emits the reason as an 'error' event, which must not go unhandled.
    if (child.stdin == null || child.stdout == null || child.stderr == null) {
      child.on('error', () => {});
      throw new CgiError(
        'ERR_CGI_SPAWN',
        503,
        'cannot start the script: the server is out of file descriptors or processes',
        { headers: { 'Retry-After': '1' } },
      );
    }
    return child;
  }

  function emitEnd(
    request: CgiRequest,
    start: number,
    fields: {
      scriptName?: string | undefined;
      status: number;
      exit?: Exit;
      bytesIn?: number;
      bytesOut?: number;
      errorCode?: string | undefined;
      localRedirect?: string | undefined;
    },
  ): void {
    const { onEvent } = config;
    if (onEvent === undefined) return;
    try {
      onEvent({
        type: 'end',
        id: request.id,
        method: request.method,
        target: request.target,
        scriptName: fields.scriptName,
        status: fields.status,
        durationMs: Math.round((performance.now() - start) * 10) / 10,
        exitCode: fields.exit?.code ?? null,
        signal: fields.exit?.signal ?? null,
        bytesIn: fields.bytesIn ?? 0,
        bytesOut: fields.bytesOut ?? 0,
        errorCode: fields.errorCode,
        localRedirect: fields.localRedirect,
      });
    } catch (error) {
      logger.error(`onEvent threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /** Server-side failures are errors in the log; refusals of a bad request are only info. */
  function logFailure(label: string, error: CgiError): void {
    (error.status >= 500 ? logger.error : logger.info)(`${label}: ${error.message}`);
  }

  async function run(request: CgiRequest): Promise<CgiResult | null> {
    const start = performance.now();
    let match: Awaited<ReturnType<typeof resolveScript>>;
    let args: string[] = [];
    try {
      match = await resolveScript(splitCgiPath(request.path), request.mountPath, config);
      if (match !== null && !('directoryRedirect' in match) && config.commandArgs) {
        if (request.method === 'GET' || request.method === 'HEAD') args = parseCommandArgs(request.query);
      }
    } catch (error) {
      if (error instanceof CgiError) {
        logFailure(`${request.id} ${request.method} ${quoteForLog(request.target)}`, error);
        emitEnd(request, start, { status: error.status, errorCode: error.code });
      }
      throw error;
    }
    if (match === null) return null;
    if ('directoryRedirect' in match) {
      const location = match.directoryRedirect + (request.query === '' ? '' : `?${request.query}`);
      emitEnd(request, start, { status: 301 });
      return {
        kind: 'client-redirect',
        status: 301,
        statusText: undefined,
        headers: [['Location', location]],
        body: null,
        scriptName: undefined,
      };
    }
    return execute(request, match, args, start);
  }

  async function execute(
    request: CgiRequest,
    match: CgiScriptMatch,
    args: readonly string[],
    start: number,
  ): Promise<CgiResult> {
    const label = `${request.id} ${match.scriptName}`;
    const failEarly = (error: CgiError): never => {
      logFailure(label, error);
      emitEnd(request, start, { scriptName: match.scriptName, status: error.status, errorCode: error.code });
      throw error;
    };

    // The slot is taken before a chunked body is buffered: buffering is bounded by
    // maxConcurrent x maxRequestBody, never by the number of open connections.
    if (slots >= config.maxConcurrent) {
      failEarly(
        new CgiError('ERR_CGI_BUSY', 503, `refused: ${config.maxConcurrent} scripts already running (maxConcurrent)`, {
          headers: { 'Retry-After': '1' },
        }),
      );
    }
    slots++;
    let child: ChildProcessWithoutNullStreams;
    let body: PreparedBody | null;
    try {
      const headers = collectHeaders(request.rawHeaders);
      body = await prepareBody(request, headers, config);
      // Checked here, after the last await before the spawn: from the spawn to the listener
      // below nothing yields, so a client that leaves later is always seen by the listener.
      if (request.signal.aborted) {
        throw new CgiError('ERR_CGI_CLIENT_GONE', 499, 'client disconnected before the script started; not run');
      }
      const env = createCgiEnv(request, match, config, headers, body);
      child = startChild(match, args, env);
    } catch (error) {
      slots--;
      if (error instanceof CgiError) failEarly(error);
      throw error;
    }
    children.add(child);
    const nph = config.nph && basename(match.scriptName).startsWith('nph-');

    return new Promise<CgiResult>((resolveResult, rejectResult) => {
      let headed = false; // a result (or an error) has been handed to the caller
      let responseBody: Readable | null = null;
      let responseDone = false;
      let status = 0;
      let errorCode: string | undefined;
      let localRedirect: string | undefined;
      let bytesIn = 0;
      let bytesOut = 0;
      let exit: Exit | undefined;
      let killed = false;
      let ended = false;

      const finishIfDone = () => {
        if (ended || !responseDone || exit === undefined) return;
        ended = true;
        emitEnd(request, start, {
          scriptName: match.scriptName,
          status,
          exit,
          bytesIn,
          bytesOut,
          errorCode,
          localRedirect,
        });
      };
      const markResponseDone = () => {
        responseDone = true;
        finishIfDone();
      };

      const kill = () => {
        if (killed) return;
        killed = true;
        killGroup(child);
      };

      /** Ends the request with an error: before headers it becomes the response; after, the response is aborted. */
      const abort = (error: CgiError, level: 'error' | 'warn' | 'info') => {
        if (errorCode !== undefined) return;
        errorCode = error.code;
        logger[level](`${label}: ${error.message}`);
        unpipeStdin();
        if (!headed) {
          headed = true;
          status = error.status;
          kill();
          markResponseDone();
          rejectResult(error);
          return;
        }
        // Destroy before killing: a killed script closes stdout normally, which must
        // not look like a complete response to the client.
        responseBody?.destroy(error);
        kill();
      };

      const timer =
        config.timeout < 2 ** 31
          ? setTimeout(() => {
              const phase = headed ? 'while sending its response' : 'before printing its headers';
              abort(
                new CgiError('ERR_CGI_TIMEOUT', 504, `timed out after ${config.timeout} ms ${phase}; killed`),
                'error',
              );
            }, config.timeout)
          : undefined;

      const onClientGone = () => {
        abort(new CgiError('ERR_CGI_CLIENT_GONE', 499, 'client disconnected; script killed'), 'info');
      };
      request.signal.addEventListener('abort', onClientGone, { once: true });

      // --- stdin ------------------------------------------------------------------
      const source = body?.source ?? null;
      const upload = source === null || Buffer.isBuffer(source) ? null : (source as Readable);
      let piping = false;
      const onBodyData = (chunk: Buffer) => {
        bytesIn += chunk.length;
        if (bytesIn > config.maxRequestBody) {
          abort(
            new CgiError(
              'ERR_CGI_BODY_TOO_LARGE',
              413,
              `request body over ${config.maxRequestBody} bytes (maxRequestBody)`,
              {
                headers: { Connection: 'close' },
              },
            ),
            'info',
          );
        }
      };
      function unpipeStdin() {
        if (!piping || upload === null) return;
        piping = false;
        upload.unpipe(child.stdin);
        upload.removeListener('data', onBodyData);
        // The rest of the upload is read and dropped so the response can still be delivered.
        upload.resume();
      }
      // EPIPE here only means the script stopped reading its input; that is its right.
      child.stdin.on('error', unpipeStdin);
      if (upload !== null) {
        // Not stream.pipeline: on error it would destroy the request, and with it the
        // connection the response still has to go out on.
        piping = true;
        upload.pipe(child.stdin);
        upload.on('data', onBodyData);
      } else if (source instanceof Buffer) {
        bytesIn = source.length;
        child.stdin.end(source);
      } else {
        child.stdin.end();
      }

      // --- stderr -----------------------------------------------------------------
      drainStderr(child.stderr, (line) => logger.warn(`${label} stderr: ${line}`));

      // --- process ----------------------------------------------------------------
      child.on('spawn', () => {
        try {
          config.onEvent?.({ type: 'spawn', id: request.id, scriptName: match.scriptName, pid: child.pid as number });
        } catch (error) {
          logger.error(`onEvent threw: ${(error as Error)?.message ?? String(error)}`);
        }
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return; // a failed kill(), not a failed start
        void explainSpawnError(match, error).then((explained) => abort(explained, 'error'));
      });
      child.on('exit', (code, signal) => {
        if (code !== null && code !== 0 && child.pid !== undefined && headed && errorCode === undefined) {
          logger.warn(`${label}: exited with status ${code}`);
        } else if (signal !== null && !killed) {
          logger.warn(`${label}: killed by ${signal}`);
        }
      });
      child.on('close', (code, signal) => {
        children.delete(child);
        slots--;
        clearTimeout(timer);
        // A pending SIGKILL stays pending: the group may outlive its leader (a background
        // job that ignores SIGTERM), and the grace period is its last chance.
        request.signal.removeEventListener('abort', onClientGone);
        exit = child.pid === undefined ? { code: null, signal: null } : { code, signal };
        finishIfDone();
      });

      // --- stdout: the header block, then the body ----------------------------------
      const stdout = child.stdout;
      const reader = new CgiHeaderReader(config.maxResponseHeaderBytes);
      const onHeaderData = (chunk: Buffer) => {
        let parsed: ReturnType<CgiHeaderReader['push']>;
        let head: CgiResponseHead;
        try {
          parsed = reader.push(chunk);
          if (parsed === null) return;
          stdout.pause();
          stdout.removeListener('data', onHeaderData);
          stdout.removeListener('end', onEarlyEnd);
          head = parseCgiHeaders(parsed.block, nph);
        } catch (error) {
          stdout.removeListener('data', onHeaderData);
          stdout.removeListener('end', onEarlyEnd);
          stdout.resume();
          abort(error as CgiError, 'error');
          return;
        }
        if (parsed.rest.length > 0) stdout.unshift(parsed.rest);
        deliver(head);
      };
      const onEarlyEnd = () => {
        if (child.pid === undefined) return; // the spawn error explains it
        const describe = () => {
          const how =
            exit?.signal != null
              ? `was killed by ${exit.signal}`
              : child.exitCode !== null
                ? `exited with status ${child.exitCode}`
                : 'closed its output';
          const what =
            reader.length === 0
              ? 'without printing anything'
              : 'before ending its header block with an empty line (no header terminator)';
          abort(new CgiError('ERR_CGI_NO_HEADERS', 502, `the script ${how} ${what}`), 'error');
        };
        // Wait briefly for the exit status: "exited with status 127" says more than "closed its output".
        if (child.exitCode !== null || child.signalCode !== null) describe();
        else {
          const wait = setTimeout(describe, 1000);
          child.once('exit', () => {
            clearTimeout(wait);
            describe();
          });
        }
      };
      stdout.on('data', onHeaderData);
      stdout.once('end', onEarlyEnd);
      stdout.on('error', () => {}); // destroy() from a timeout or a disconnect: handled by abort()

      const deliver = (head: CgiResponseHead) => {
        if (headed) return;
        if (head.kind === 'local-redirect' && config.localRedirects) {
          if (request.redirects >= MAX_LOCAL_REDIRECTS) {
            stdout.resume();
            abort(
              new CgiError(
                'ERR_CGI_REDIRECT_LOOP',
                502,
                `more than ${MAX_LOCAL_REDIRECTS} local redirects (last to ${quoteForLog(head.location)})`,
              ),
              'error',
            );
            return;
          }
          headed = true;
          localRedirect = head.location;
          // A local redirect's body, if any, is not the response: drain it so the script can finish.
          stdout.resume();
          markResponseDone();
          resolveResult({ kind: 'local-redirect', location: head.location, scriptName: match.scriptName });
          return;
        }
        const document =
          head.kind === 'local-redirect'
            ? {
                kind: 'client-redirect' as const,
                status: 302,
                statusText: undefined,
                headers: [['Location', head.location] as const, ['X-Content-Type-Options', 'nosniff'] as const],
                contentLength: undefined,
              }
            : head;
        headed = true;
        status = document.status;
        try {
          config.onEvent?.({ type: 'headers', id: request.id, scriptName: match.scriptName, status });
        } catch (error) {
          logger.error(`onEvent threw: ${(error as Error)?.message ?? String(error)}`);
        }
        // RFC 9110 §9.3.2, §15.3.5, §15.3.6, §15.4.5: no body for HEAD, 204, 205 and 304.
        const bodiless = request.method === 'HEAD' || status === 204 || status === 205 || status === 304;
        if (bodiless) {
          stdout.resume();
          markResponseDone();
        } else {
          stdout.on('data', (chunk: Buffer) => {
            bytesOut += chunk.length;
          });
          responseBody =
            document.contentLength === undefined
              ? stdout
              : pipeline(stdout, new LengthCheck(document.contentLength), () => {});
          responseBody.once('close', markResponseDone);
          responseBody.on('error', (error) => {
            if (error instanceof CgiError && error.code === 'ERR_CGI_RESPONSE_LENGTH') abort(error, 'error');
          });
        }
        resolveResult({
          kind: document.kind,
          status,
          statusText: document.statusText,
          headers:
            status === 204 || status === 205
              ? document.headers.filter(([name]) => name.toLowerCase() !== 'content-length')
              : document.headers,
          body: responseBody,
          scriptName: match.scriptName,
        });
      };
    });
  }

  return {
    config,
    get running() {
      return slots;
    },
    run,
    report(request, status, errorCode) {
      emitEnd(request, performance.now(), { status, errorCode });
    },
    async close() {
      // A child stays in `children` until its 'close', so each of these still has it to come.
      const running = [...children];
      for (const child of running) killGroup(child);
      await Promise.all(running.map((child) => new Promise((resolve) => child.once('close', resolve))));
      // Wait out the grace period only for groups that still have members.
      await Promise.all([...pendingKills].filter(([pgid]) => groupAlive(pgid)).map(([, done]) => done));
    },
  };
}
