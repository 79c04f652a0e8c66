import type { Readable } from 'node:stream';
import { CgiError } from './errors.js';
import type { CgiConfig } from './options.js';
import type { CgiRequest } from './request.js';
import { type SpoolBudget, SpoolFile } from './spool.js';

/** What a script's stdin gets. */
export interface PreparedBody {
  /** `CONTENT_LENGTH`, or `null` for a chunked body streamed without one. */
  readonly length: number | null;
  /** What to write to stdin: the request stream, a chunked body read in full, or its spool file. */
  readonly source: Readable | Buffer;
  /** Whether `source` is the client's own upload (its unread rest must be drained, not dropped). */
  readonly fromClient: boolean;
  /** Gives back what holding the body costs (a spool file) when it will not be read. */
  discard(): void;
}

/** Chunked bodies up to this size stay in memory; larger ones are spooled to a file. */
export const IN_MEMORY_BODY = 1024 * 1024;
/** Chunks are copied into blocks this size, so memory is the bytes held, whatever the chunk sizes. */
const BLOCK = 64 * 1024;

function tooLarge(config: CgiConfig): CgiError {
  return new CgiError('ERR_CGI_BODY_TOO_LARGE', `request body over ${config.maxRequestBody} bytes (maxRequestBody)`);
}

/**
 * Decides what the script's stdin gets (`null`: nothing, stdin is closed at once) and what
 * `CONTENT_LENGTH` says, enforcing `maxRequestBody` before anything is spawned when the
 * length is known. A chunked body is read in full first (scripts rely on `CONTENT_LENGTH`:
 * CGI.pm and Python's cgi module read exactly that much), bounded by `maxRequestBody`, by
 * `timeout` and by the spool budget.
 */
export async function prepareBody(
  request: CgiRequest,
  headers: Map<string, string>,
  config: CgiConfig,
  budget: SpoolBudget,
): Promise<PreparedBody | null> {
  const stream = request.body;
  if (stream === null) return null;
  if (headers.has('transfer-encoding')) {
    if (config.chunkedRequests === 'reject') {
      throw new CgiError('ERR_CGI_LENGTH_REQUIRED', 'chunked request body refused (chunkedRequests: "reject")');
    }
    request.sendContinue?.();
    if (config.chunkedRequests === 'stream') return clientBody(null, stream);
    return collect(stream, config, budget, request.signal);
  }
  const declared = headers.get('content-length');
  if (declared === undefined) return null;
  const length = Number(declared);
  if (!/^\d+$/.test(declared) || !Number.isSafeInteger(length)) {
    throw new CgiError('ERR_CGI_BAD_REQUEST', 'invalid Content-Length');
  }
  if (length > config.maxRequestBody) throw tooLarge(config);
  // RFC 3875 §4.1.2: with no data attached, CONTENT_LENGTH is not defined.
  if (length === 0) return null;
  request.sendContinue?.();
  return clientBody(length, stream);
}

function clientBody(length: number | null, stream: Readable): PreparedBody {
  return { length, source: stream, fromClient: true, discard() {} };
}

/** Reads a chunked body in full: coalesced into blocks in memory, past {@link IN_MEMORY_BODY} into a spool file. */
async function collect(
  stream: Readable,
  config: CgiConfig,
  budget: SpoolBudget,
  signal: AbortSignal,
): Promise<PreparedBody | null> {
  const body = new BodyCollector(config, budget);
  try {
    await body.readAll(stream, config.timeout, signal);
  } catch (error) {
    body.discard();
    // The rest must not be parsed as the next request; the error says Connection: close.
    stream.resume();
    throw error;
  }
  return body.result();
}

/** The blocks and, once past the in-memory size, the spool file of one chunked body. */
class BodyCollector {
  length = 0;
  readonly #blocks: Buffer[] = [];
  #block = Buffer.allocUnsafe(BLOCK);
  #filled = 0;
  #spool: SpoolFile | undefined;
  #discarded = false;
  readonly #config: CgiConfig;
  readonly #budget: SpoolBudget;

  constructor(config: CgiConfig, budget: SpoolBudget) {
    this.#config = config;
    this.#budget = budget;
  }

  /** Reads the stream to its end, pausing it while a full block is written out. */
  readAll(stream: Readable, timeout: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) => {
        cleanup();
        reject(error);
      };
      const timer =
        timeout < 2 ** 31
          ? setTimeout(
              () => fail(new CgiError('ERR_CGI_BODY_TIMEOUT', `request body not received within ${timeout} ms`)),
              timeout,
            )
          : undefined;
      const gone = () => fail(new CgiError('ERR_CGI_CLIENT_GONE', 'client went away while sending its body'));
      const onData = (chunk: Buffer) => {
        let writing: Promise<void> | null;
        try {
          writing = this.#add(chunk);
        } catch (error) {
          fail(error);
          return;
        }
        if (writing === null) return;
        stream.pause();
        writing.then(() => stream.resume(), fail);
      };
      const onEnd = () =>
        this.#flush(true).then(() => {
          cleanup();
          resolve();
        }, fail);
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', gone);
        stream.removeListener('data', onData).removeListener('end', onEnd).removeListener('error', gone);
      };
      signal.addEventListener('abort', gone, { once: true });
      stream.on('data', onData).once('end', onEnd).once('error', gone);
    });
  }

  /** Copies a chunk into the current block; returns a promise when blocks had to be written out. */
  #add(chunk: Buffer): Promise<void> | null {
    this.length += chunk.length;
    if (this.length > this.#config.maxRequestBody) throw tooLarge(this.#config);
    let offset = 0;
    let writing: Promise<void> | null = null;
    while (offset < chunk.length) {
      const n = chunk.copy(this.#block, this.#filled, offset);
      this.#filled += n;
      offset += n;
      if (this.#filled === BLOCK) writing = this.#sealBlock(writing);
    }
    return writing;
  }

  #sealBlock(previous: Promise<void> | null): Promise<void> | null {
    this.#blocks.push(this.#block);
    this.#block = Buffer.allocUnsafe(BLOCK);
    this.#filled = 0;
    if (this.length <= IN_MEMORY_BODY) return previous;
    return (previous ?? Promise.resolve()).then(() => this.#flush(false));
  }

  /** Moves every sealed block (and, at the end, the partial one) to the spool file, once past the in-memory size. */
  async #flush(final: boolean): Promise<void> {
    if (this.length <= IN_MEMORY_BODY) return;
    this.#spool ??= await SpoolFile.create(this.#config.spoolDirectory, this.#budget);
    // The request failed while the file was being created: nothing will read it.
    if (this.#discarded) this.#spool.discard();
    if (final && this.#filled > 0) {
      this.#blocks.push(this.#block.subarray(0, this.#filled));
      this.#filled = 0;
    }
    for (let block = this.#blocks.shift(); block !== undefined; block = this.#blocks.shift()) {
      await this.#spool.write(block);
    }
  }

  result(): PreparedBody | null {
    if (this.length === 0) return null;
    const spool = this.#spool;
    if (spool === undefined) {
      const source = Buffer.concat([...this.#blocks, this.#block.subarray(0, this.#filled)], this.length);
      return { length: this.length, source, fromClient: false, discard() {} };
    }
    return { length: this.length, source: spool.reader(), fromClient: false, discard: () => spool.discard() };
  }

  discard(): void {
    this.#discarded = true;
    this.#spool?.discard();
  }
}
