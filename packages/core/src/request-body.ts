import type { Readable } from 'node:stream';
import { CgiError } from './errors.js';
import type { CgiConfig } from './options.js';
import type { CgiRequest } from './request.js';

/** What a script's stdin gets. */
export interface PreparedBody {
  /** `CONTENT_LENGTH`, or `null` for a chunked body streamed without one. */
  readonly length: number | null;
  /** What to write to stdin: the request stream, or a chunked body read in full. */
  readonly source: Readable | Buffer | null;
}

/**
 * Decides what the script's stdin gets (`null`: nothing, stdin is closed at once) and what `CONTENT_LENGTH` says, enforcing
 * `maxRequestBody` before anything is spawned when the length is known.
 */
export async function prepareBody(
  request: CgiRequest,
  headers: Map<string, string>,
  config: CgiConfig,
): Promise<PreparedBody | null> {
  const stream = request.body;
  if (stream === null) return null;
  const tooLarge = () =>
    new CgiError('ERR_CGI_BODY_TOO_LARGE', 413, `request body over ${config.maxRequestBody} bytes (maxRequestBody)`, {
      // The unread rest of the body must not be parsed as the next request.
      headers: { Connection: 'close' },
    });
  if (headers.has('transfer-encoding')) {
    if (config.chunkedRequests === 'reject') {
      throw new CgiError('ERR_CGI_LENGTH_REQUIRED', 411, 'chunked request body refused (chunkedRequests: "reject")', {
        headers: { Connection: 'close' },
      });
    }
    if (config.chunkedRequests === 'stream') return { length: null, source: stream };
    // Scripts rely on CONTENT_LENGTH (CGI.pm, Python's cgi module read exactly that much),
    // so a chunked body is read in full first, bounded by maxRequestBody.
    const chunks: Buffer[] = [];
    let length = 0;
    // A client dripping its body must not hold a slot for ever: reading it in full is bounded
    // by the same timeout as the script.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      if (config.timeout < 2 ** 31) {
        timer = setTimeout(
          () =>
            reject(
              new CgiError('ERR_CGI_BODY_TIMEOUT', 408, `request body not received within ${config.timeout} ms`, {
                headers: { Connection: 'close' },
              }),
            ),
          config.timeout,
        );
      }
    });
    const read = async () => {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        length += chunk.length;
        if (length > config.maxRequestBody) throw tooLarge();
        chunks.push(chunk);
      }
    };
    const reading = read();
    // Once the deadline has won, whatever the abandoned read ends with is of no interest.
    reading.catch(() => {});
    try {
      await Promise.race([reading, deadline]);
    } catch (error) {
      if (error instanceof CgiError) throw error;
      throw new CgiError('ERR_CGI_CLIENT_GONE', 499, 'client went away while sending its body', { cause: error });
    } finally {
      clearTimeout(timer);
    }
    return length === 0 ? null : { length, source: Buffer.concat(chunks, length) };
  }
  const declared = headers.get('content-length');
  if (declared === undefined) return null;
  const length = Number(declared);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new CgiError('ERR_CGI_BAD_REQUEST', 400, 'invalid Content-Length');
  }
  if (length > config.maxRequestBody) throw tooLarge();
  // RFC 3875 §4.1.2: with no data attached, CONTENT_LENGTH is not defined.
  return length === 0 ? null : { length, source: stream };
}
