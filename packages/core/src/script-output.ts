import { Readable } from 'node:stream';
import { CgiError } from './errors.js';

/**
 * The response body: the script's stdout after its header block, forwarded with
 * backpressure. It counts the bytes, holds the script to its `Content-Length` (a longer
 * body is cut at the declared length so a keep-alive connection never carries the extra
 * bytes; a shorter one errors, so the response is aborted rather than made to look
 * complete), and can be ended cleanly from outside when a background job keeps stdout
 * open after the script exited.
 */
export class ScriptOutput extends Readable {
  /** Body bytes forwarded so far. */
  bytes = 0;
  /** The script wrote more than its `Content-Length`; the rest was dropped. */
  overrun = false;
  readonly #source: Readable;
  #left: number;
  /** `push(null)` was called: nothing more is forwarded. */
  #ended = false;
  readonly #onOverrun: () => void;

  /**
   * @param first - body bytes that arrived with the end of the header block.
   * @param declared - the script's `Content-Length`, if it gave one.
   * @param onOverrun - called once when the script writes past its `Content-Length`.
   */
  constructor(source: Readable, first: Buffer, declared: number | undefined, onOverrun: () => void) {
    super();
    this.#source = source;
    this.#left = declared ?? Number.POSITIVE_INFINITY;
    this.#onOverrun = onOverrun;
    source.on('data', this.#onData);
    source.once('end', this.#onEnd);
    if (first.length > 0) this.#onData(first);
    if (this.#left === 0) this.#done();
  }

  override _read(): void {
    this.#source.resume();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (chunk.length >= this.#left) {
      const fits = chunk.length === this.#left;
      this.#forward(fits ? chunk : chunk.subarray(0, this.#left));
      this.#left = 0;
      this.#done();
      if (!fits) this.#overrun();
      return;
    }
    this.#left -= chunk.length;
    this.#forward(chunk);
  };

  #forward(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.push(chunk)) this.#source.pause();
  }

  readonly #onEnd = (): void => this.finish();

  /** The declared length was reached: end the body, but keep reading stdout to see whether more comes. */
  #done(): void {
    if (this.#ended || this.destroyed) return;
    this.#ended = true;
    this.push(null);
    // What the script writes after this is read and dropped (and reported once).
    this.#source.removeListener('data', this.#onData);
    this.#source.on('data', this.#overrun);
    this.#source.resume();
  }

  readonly #overrun = (): void => {
    this.#source.removeListener('data', this.#overrun);
    if (this.overrun) return;
    this.overrun = true;
    this.#onOverrun();
  };

  /**
   * Ends the body now, with what was forwarded so far (the script has exited and something it
   * started still holds stdout): cleanly if no `Content-Length` is left unmet, else with an error.
   */
  finish(): void {
    this.#detach();
    if (this.#ended || this.destroyed) return;
    this.#ended = true;
    if (this.#left === 0 || this.#left === Number.POSITIVE_INFINITY) this.push(null);
    else this.destroy(this.#short());
  }

  #short(): CgiError {
    return new CgiError('ERR_CGI_RESPONSE_LENGTH', `the script wrote ${this.#left} bytes less than its Content-Length`);
  }

  #detach(): void {
    this.#source.removeListener('data', this.#onData);
    this.#source.removeListener('data', this.#overrun);
    this.#source.removeListener('end', this.#onEnd);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#detach();
    callback(error);
  }
}
