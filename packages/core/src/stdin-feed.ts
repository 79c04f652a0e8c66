import type { Readable, Writable } from 'node:stream';

/**
 * Feeds the request body to a script's stdin and counts it. A script may stop reading its
 * input (EPIPE): that is its right, and the rest of the upload is then read and dropped so
 * the response can still reach a client that sends its whole body before it reads
 * (CVE-2014-0231 was the opposite: a host that stopped reading and hung).
 */
export class StdinFeed {
  /** Body bytes read from the client (written to stdin, or dropped after the script stopped reading). */
  bytes = 0;
  readonly #stdin: Writable;
  readonly #source: Readable | null;
  readonly #limit: number;
  readonly #onTooLarge: () => void;
  /** The rest of an unread body must be drained (a client's upload), not just closed (a spool file). */
  readonly #drain: boolean;
  #feeding = false;

  /**
   * @param source - the body: a stream, a buffer read in full, or `null` (stdin is closed at once).
   * @param limit - bytes after which `onTooLarge` is called once (for bodies of unknown length).
   * @param drain - whether an unread rest must still be read (the client's upload) or may be dropped (a spool file).
   */
  constructor(
    stdin: Writable,
    source: Readable | Buffer | null,
    { limit, drain, onTooLarge }: { limit: number; drain: boolean; onTooLarge: () => void },
  ) {
    this.#stdin = stdin;
    this.#drain = drain;
    this.#limit = limit;
    this.#onTooLarge = onTooLarge;
    // EPIPE only means the script stopped reading its input.
    stdin.on('error', this.stop);
    if (source === null || Buffer.isBuffer(source)) {
      this.#source = null;
      this.bytes = source?.length ?? 0;
      stdin.end(source ?? undefined);
      return;
    }
    this.#source = source;
    this.#feeding = true;
    // Not stream.pipeline: on error it would destroy the request, and with it the
    // connection the response still has to go out on.
    source.on('data', this.#count);
    source.pipe(stdin);
  }

  readonly #count = (chunk: Buffer): void => {
    this.bytes += chunk.length;
    if (this.bytes > this.#limit) {
      this.stop();
      this.#onTooLarge();
    }
  };

  /** Stops feeding stdin; the rest of the body is read and dropped (counted, still bounded by the limit). */
  readonly stop = (): void => {
    const source = this.#source;
    if (source === null || !this.#feeding) return;
    this.#feeding = false;
    source.unpipe(this.#stdin);
    if (this.#drain) source.resume();
    else source.destroy();
  };

  /** Stops and closes stdin (the run is over). */
  close(): void {
    this.stop();
    this.#stdin.destroy();
  }
}
