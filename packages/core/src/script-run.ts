import { basename } from 'node:path';
import { DebugFactsCollector } from './debug-facts.js';
import { CgiError } from './errors.js';
import type { CgiEventSink } from './events.js';
import { drainStderr } from './log-stderr.js';
import { quoteForLog } from './logger.js';
import type { CgiConfig } from './options.js';
import { CgiHeaderReader, type CgiResponseHead, parseCgiHeaders } from './parse-headers.js';
import type { CgiProcessPool, CgiSlot } from './process-pool.js';
import type { CgiRequest } from './request.js';
import type { PreparedBody } from './request-body.js';
import type { CgiScriptMatch } from './resolve-script.js';
import type { CgiResult } from './results.js';
import { ScriptOutput } from './script-output.js';
import { explainEarlyEnd } from './spawn-error.js';
import type { CgiExit, CgiProcess } from './spawner.js';
import { StdinFeed } from './stdin-feed.js';

/** RFC 3875 §6.2.2 does not bound local redirects; Apache stops at 10, and so do we. */
export const MAX_LOCAL_REDIRECTS = 10;

/** Failures of the script's own output, decided while it may still be writing the reason to stderr. */
const OUTPUT_ERRORS = new Set([
  'ERR_CGI_MALFORMED_HEADER',
  'ERR_CGI_BAD_STATUS',
  'ERR_CGI_BAD_CONTENT_LENGTH',
  'ERR_CGI_NO_CONTENT_TYPE',
]);

/** Where a run is. `starting` (slot, body, spawn) happens in the gateway before the run exists. */
export type CgiRunPhase = 'head' | 'body' | 'redirect' | 'done' | 'failed';

/** What the gateway hands a run once the process is started. */
export interface CgiRunStart {
  readonly request: CgiRequest;
  readonly match: CgiScriptMatch;
  readonly process: CgiProcess;
  readonly spawner: string;
  readonly body: PreparedBody | null;
  readonly slot: CgiSlot;
  /** `REMOTE_ADDR` as the script saw it. */
  readonly client: string;
  /** `PATH` as the script got it (for explaining a missing interpreter). */
  readonly pathEnv: string | undefined;
  /** `performance.now()` when the request arrived. */
  readonly start: number;
}

/** The gateway's parts a run uses. */
export interface CgiRunContext {
  readonly config: CgiConfig;
  readonly pool: CgiProcessPool;
  readonly events: CgiEventSink;
}

/**
 * One script's run, from its spawned process to the end event: a phase, and one method per
 * event. The response is settled (handed over complete, failed, or handed off as a local
 * redirect) and the process is done (exited, its output closed) independently; the run ends,
 * releases its slot and emits `end` when both have happened.
 *
 * | event          | head                  | body                 | redirect | done     |
 * | -------------- | --------------------- | -------------------- | -------- | -------- |
 * | headers read   | → body, redirect, or failed (502) | —        | —        | —        |
 * | output ended   | → failed (502)        | → done               | —        | —        |
 * | exited         | linger if output open | linger if output open| same     | same     |
 * | linger over    | → failed (502)        | end cleanly → done   | close    | close    |
 * | timeout        | → failed (504)        | abort → failed       | kill     | kill     |
 * | client gone    | → failed (499)        | abort → failed       | kill     | kill     |
 * | body too large | → failed (413)        | abort → failed       | kill     | kill     |
 *
 * "Linger": once the script's own process has exited, output is still forwarded until stdout
 * reaches EOF or `killGrace` has passed; then whatever still holds it is killed (its group) or,
 * if it left the group (`setsid cmd &`), cut off, so it can never hold a slot.
 */
export class ScriptRun {
  #phase: CgiRunPhase = 'head';
  /** The response is settled: sent in full, failed, or handed off as a local redirect. */
  #settled = false;
  #exit: CgiExit | undefined;
  #outputOpen = true;
  #ended = false;
  #status = 0;
  #error: CgiError | undefined;
  #localRedirect: string | undefined;
  #body: ScriptOutput | undefined;
  #timer: NodeJS.Timeout | undefined;
  #linger: NodeJS.Timeout | undefined;
  #resolve: (result: CgiResult) => void = () => {};
  #reject: (error: CgiError) => void = () => {};
  #finished: () => void = () => {};
  readonly #reader: CgiHeaderReader;
  readonly #feed: StdinFeed;
  readonly #label: string;
  /** The last lines the script wrote to stderr, for explaining an early end. */
  readonly #stderrTail: string[] = [];
  /** Every line of this run carries its request id. */
  readonly #fields: { readonly reqId: string; readonly scriptName: string };
  /** What the development error page shows (only with `debug`). */
  readonly #facts: DebugFactsCollector | undefined;
  /** Settles when the run has ended: slot released, `end` emitted. */
  readonly done: Promise<void>;

  constructor(
    private readonly context: CgiRunContext,
    private readonly run: CgiRunStart,
  ) {
    const { config } = context;
    this.#label = run.match.scriptName;
    this.#fields = { reqId: run.request.id, scriptName: run.match.scriptName };
    this.#facts = config.debug ? new DebugFactsCollector(run.match.scriptName, run.process) : undefined;
    this.#reader = new CgiHeaderReader(config.maxResponseHeaderBytes, this.#nph());
    this.done = new Promise((resolve) => {
      this.#finished = resolve;
    });
    this.#feed = new StdinFeed(run.process.stdin, run.body?.source ?? null, {
      limit: config.maxRequestBody,
      drain: run.body?.fromClient ?? false,
      onTooLarge: () => this.fail(this.#tooLarge(), 'info'),
    });
  }

  get process(): CgiProcess {
    return this.run.process;
  }

  get phase(): CgiRunPhase {
    return this.#phase;
  }

  /** Wires the process up; resolves with the response once the header block is read. */
  start(): Promise<CgiResult> {
    const { process, request } = this.run;
    const result = new Promise<CgiResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    drainStderr(process.stderr, (line) => {
      this.context.config.logger.warn(`${this.#label} stderr: ${line}`, this.#fields);
      if (this.#stderrTail.push(line) > 20) this.#stderrTail.shift();
      this.#facts?.stderrLine(line);
    });
    process.stdout.on('data', this.#onHeaderData);
    process.stdout.once('close', this.#onOutputClosed);
    process.stderr.once('close', this.#stopLinger);
    // destroy() after a timeout or a disconnect: handled by fail().
    process.stdout.on('error', () => {});
    void process.exit.then(this.#onExit);
    // The whole exchange is bounded: time spent reading a chunked body counts.
    const { timeout } = this.context.config;
    const left = Math.max(1, timeout - (performance.now() - this.run.start));
    if (timeout < 2 ** 31) this.#timer = setTimeout(this.timeout, left);
    this.context.events.emit({
      type: 'spawn',
      id: request.id,
      scriptName: this.run.match.scriptName,
      pid: process.pid,
      spawner: process.spawner ?? this.run.spawner,
    });
    this.context.pool.add(this);
    if (request.signal.aborted) this.clientGone();
    else request.signal.addEventListener('abort', this.clientGone, { once: true });
    return result;
  }

  // --- the header block ---------------------------------------------------------------------

  readonly #onHeaderData = (chunk: Buffer): void => {
    let head: CgiResponseHead;
    let rest: Buffer;
    this.#facts?.output(chunk);
    try {
      const parsed = this.#reader.push(chunk);
      if (parsed === null) return;
      this.#stopReadingHead();
      rest = parsed.rest;
      head = parseCgiHeaders(parsed.block, this.#nph());
    } catch (error) {
      // fail() stops reading the head: no later output is parsed.
      this.fail(error as CgiError, 'error');
      return;
    }
    this.#onHead(head, rest);
  };

  #stopReadingHead(): void {
    this.run.process.stdout.pause();
    this.run.process.stdout.removeListener('data', this.#onHeaderData);
  }

  #nph(): boolean {
    return this.context.config.nph && basename(this.run.match.scriptName).startsWith('nph-');
  }

  #onHead(head: CgiResponseHead, rest: Buffer): void {
    if (this.#phase !== 'head') return;
    if (head.kind === 'local-redirect' && this.context.config.localRedirects) {
      this.#redirect(head.location);
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
    const { request, match, process } = this.run;
    this.#status = document.status;
    this.context.events.emit({ type: 'headers', id: request.id, scriptName: match.scriptName, status: this.#status });
    // RFC 9110 §9.3.2, §15.3.5, §15.3.6, §15.4.5: no body for HEAD, 204, 205 and 304.
    const bodiless = request.method === 'HEAD' || [204, 205, 304].includes(this.#status);
    let body: ScriptOutput | null = null;
    if (bodiless) {
      process.stdout.resume();
      this.#phase = 'done';
      this.#settle();
    } else {
      body = new ScriptOutput(process.stdout, rest, document.contentLength, this.#onOverrun);
      body.once('close', this.#onBodyClosed);
      body.on('error', () => {});
      this.#body = body;
      this.#phase = 'body';
    }
    this.#resolve({
      kind: document.kind,
      status: this.#status,
      statusText: document.statusText,
      headers:
        this.#status === 204 || this.#status === 205
          ? document.headers.filter(([name]) => name.toLowerCase() !== 'content-length')
          : document.headers,
      body,
      scriptName: match.scriptName,
    });
  }

  #redirect(location: string): void {
    const { request, match, process, slot } = this.run;
    const hops = (request.chain?.hops ?? 0) + 1;
    if (hops > MAX_LOCAL_REDIRECTS) {
      process.stdout.resume();
      const to = quoteForLog(location);
      this.fail(
        new CgiError('ERR_CGI_REDIRECT_LOOP', `more than ${MAX_LOCAL_REDIRECTS} local redirects (last to ${to})`),
      );
      return;
    }
    this.#phase = 'redirect';
    this.#localRedirect = location;
    // A local redirect's body, if any, is not the response: drain it so the script can finish.
    process.stdout.resume();
    this.#settle();
    this.#resolve({ kind: 'local-redirect', location, scriptName: match.scriptName, chain: { hops, slot } });
  }

  // --- the body and the process -------------------------------------------------------------

  readonly #onBodyClosed = (): void => {
    if (this.#phase === 'body') this.#phase = 'done';
    this.#settle();
  };

  readonly #onOverrun = (): void => {
    const declared = this.#body?.bytes ?? 0;
    this.#error ??= new CgiError('ERR_CGI_RESPONSE_LENGTH', 'the script wrote more than its Content-Length');
    this.context.config.logger.error(
      `${this.#label}: the script wrote more than its Content-Length (${declared}); the rest was dropped, the script killed`,
      this.#fields,
    );
    this.#kill();
  };

  readonly #onOutputClosed = (): void => {
    this.#outputOpen = false;
    this.#stopLinger();
    if (this.#phase === 'head') this.#noHeaders();
    this.#checkEnded();
  };

  /** Both outputs closed: nothing is left to wait for, so no timer keeps the run alive. */
  readonly #stopLinger = (): void => {
    if (!this.#outputOpen && this.run.process.stderr.closed) clearTimeout(this.#linger);
  };

  /** The output ended without a header block: say how, and why when that can be told. */
  #noHeaders(): void {
    // "exited with status 127" says more than "closed its output": wait briefly for it.
    const exited = this.#exit !== undefined ? Promise.resolve() : Promise.race([this.run.process.exit, delay(1000)]);
    void exited.then(async () => {
      const exit = this.#exit;
      const explained = await explainEarlyEnd(this.run.match, {
        pathEnv: this.run.pathEnv,
        exitCode: exit?.code ?? null,
        stdoutBytes: this.#reader.length,
        stderr: this.#stderrTail.join('\n'),
      }).catch(() => undefined);
      this.fail(explained ?? new CgiError('ERR_CGI_NO_HEADERS', `the script ${this.#how(exit)} ${this.#what()}`));
    });
  }

  #how(exit: CgiExit | undefined): string {
    if (exit?.signal != null) {
      return `was killed by ${exit.signal}${exit.signal === 'SIGXCPU' ? ' (its CPU time limit)' : ''}`;
    }
    return exit?.code != null ? `exited with status ${exit.code}` : 'closed its output';
  }

  #what(): string {
    return this.#reader.length === 0
      ? 'without printing anything'
      : 'before ending its header block with an empty line (no header terminator)';
  }

  readonly #onExit = (exit: CgiExit): void => {
    this.#exit = exit;
    if (this.#outputOpen || !this.run.process.stderr.closed) {
      this.#linger = setTimeout(this.#lingerOver, this.context.config.killGrace);
    }
    this.#checkEnded();
  };

  /** `killGrace` after the script exited, something it started still holds its output. */
  readonly #lingerOver = (): void => {
    const { process } = this.run;
    if (this.#outputOpen && this.#phase === 'body' && process.stdout.isPaused()) {
      // Paused for a slow client: what is left in the pipe is the script's output, unread only
      // because the response is full. Nothing can be told about other holders yet: judge again
      // once the output has had killGrace to flow (the request's timeout still bounds it all).
      this.#linger = setTimeout(this.#lingerOver, this.context.config.killGrace);
      return;
    }
    process.stderr.destroy();
    if (!this.#outputOpen) return;
    const { logger, killGrace } = this.context.config;
    if (process.groupAlive()) {
      logger.warn(
        `${this.#label}: a background process still held the output ${killGrace} ms after the script exited; killed its group`,
        this.#fields,
      );
      this.#kill();
    } else {
      logger.warn(
        `${this.#label}: a process that left the script's process group (setsid, set -m) still held the output ${killGrace} ms after the script exited; closed it`,
        this.#fields,
      );
    }
    if (this.#phase === 'body') this.#body?.finish();
    process.stdout.destroy();
    this.#feed.close();
  };

  // --- what ends a run early: one method each, switching on the phase ------------------------

  /** The wall-clock `timeout` passed. */
  readonly timeout = (): void => {
    const where = this.#phase === 'head' ? 'before printing its headers' : 'while sending its response';
    const message =
      this.#phase === 'head' || this.#phase === 'body'
        ? `timed out after ${this.context.config.timeout} ms ${where}; killed`
        : `still running ${this.context.config.timeout} ms after its response; killed`;
    this.fail(new CgiError('ERR_CGI_TIMEOUT', message), 'error');
  };

  /** The client went away before the response was complete. */
  readonly clientGone = (): void => {
    this.fail(new CgiError('ERR_CGI_CLIENT_GONE', 'client disconnected; script killed'), 'info');
  };

  /**
   * The pool's shutdown: ends the run as refused (503 before the headers; after them the
   * response is aborted, never made to look complete) and kills its group now, even if the
   * run had already failed and was giving its script `killGrace`.
   */
  kill(): void {
    this.fail(new CgiError('ERR_CGI_BUSY', 'the gateway is shutting down; script killed'), 'info');
    this.#kill();
  }

  /**
   * Ends the run with an error: before the headers it becomes the response; after, the
   * response is aborted (never made to look complete); once the response is settled, only the
   * process group is killed.
   */
  fail(error: CgiError, level: 'error' | 'warn' | 'info' = 'error'): void {
    if (this.#phase === 'failed') return;
    this.context.config.logger[level](`${this.#label}: ${error.message}`, this.#fields);
    this.#error ??= error;
    this.#feed.stop();
    switch (this.#phase) {
      case 'head':
        this.#phase = 'failed';
        this.#status = error.status;
        // Still running at the failure: the kill below is what ends it.
        this.#facts?.failed(error, this.done, this.#exit === undefined, this.context.config.killGrace + 1000);
        // No later output is parsed: a head completed now would pause the stream for good, and
        // its end (the run's end) would never be seen.
        this.#stopReadingHead();
        if (OUTPUT_ERRORS.has(error.code)) this.#killSoon();
        else {
          this.run.process.stdout.resume();
          this.#kill();
        }
        this.#settle();
        this.#reject(error);
        return;
      case 'body':
        this.#phase = 'failed';
        // Destroyed before the kill: a killed script closes stdout normally, which must not
        // look like a complete response.
        this.#body?.destroy(error);
        // Drained from now on, so the end of the output is seen as soon as the group dies.
        this.run.process.stdout.resume();
        this.#kill();
        return;
      default:
        this.#kill();
    }
  }

  #kill(): void {
    this.context.pool.kill(this.run.process);
  }

  /**
   * A script whose output was refused is usually failing right then: its traceback is on its way
   * to stderr (Python flushes stdout first). It gets `killGrace` to end by itself before its group
   * is killed, so the log (and the development page) has the reason. Its stdout is not read
   * meanwhile: a script that keeps printing blocks on the full pipe instead of costing CPU.
   */
  #killSoon(): void {
    const { stdout } = this.run.process;
    const timer = setTimeout(() => {
      this.#kill();
      stdout.resume();
    }, this.context.config.killGrace);
    void this.run.process.exit.then(() => {
      clearTimeout(timer);
      stdout.resume();
    });
  }

  #settle(): void {
    this.#settled = true;
    this.#checkEnded();
  }

  /** The run ends when the response is settled and the process is done (exited, output closed). */
  #checkEnded(): void {
    if (this.#ended || !this.#settled || this.#exit === undefined || this.#outputOpen) return;
    this.#ended = true;
    this.#logExit(this.#exit);
    clearTimeout(this.#timer);
    this.#stopLinger();
    this.run.request.signal.removeEventListener('abort', this.clientGone);
    this.#feed.close();
    this.run.body?.discard();
    this.run.slot.release();
    this.context.events.end(this.run.request, this.run.start, {
      scriptName: this.run.match.scriptName,
      client: this.run.client,
      status: this.#status,
      exit: this.#exit,
      bytesIn: this.#feed.bytes,
      bytesOut: this.#body?.bytes ?? 0,
      errorCode: this.#error?.code,
      localRedirect: this.#localRedirect,
    });
    this.#finished();
  }

  /** A response went out, and then the script failed: worth a line (a failure before it was already logged). */
  #logExit(exit: CgiExit): void {
    if (this.#error !== undefined) return;
    const { logger } = this.context.config;
    if (exit.code !== null && exit.code !== 0)
      logger.warn(`${this.#label}: exited with status ${exit.code}`, this.#fields);
    else if (exit.signal !== null) logger.warn(`${this.#label}: killed by ${exit.signal}`, this.#fields);
  }

  #tooLarge(): CgiError {
    const max = this.context.config.maxRequestBody;
    return new CgiError('ERR_CGI_BODY_TOO_LARGE', `request body over ${max} bytes (maxRequestBody)`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
