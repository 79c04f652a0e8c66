import { Transform, type TransformCallback } from 'node:stream';
import { CgiError } from './errors.js';

/** Enforces a script's `Content-Length` so a liar cannot desynchronise a keep-alive connection. */
export class LengthCheck extends Transform {
  #left: number;

  constructor(expected: number) {
    super();
    this.#left = expected;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#left -= chunk.length;
    if (this.#left < 0) {
      callback(new CgiError('ERR_CGI_RESPONSE_LENGTH', 502, 'the script wrote more than its Content-Length'));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#left > 0) {
      callback(
        new CgiError(
          'ERR_CGI_RESPONSE_LENGTH',
          502,
          `the script wrote ${this.#left} bytes less than its Content-Length`,
        ),
      );
      return;
    }
    callback();
  }
}
