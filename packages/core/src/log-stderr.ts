import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * Logs stderr line by line, as written (a line's control characters are the log's to escape),
 * bounded: a long line is cut, a flood is cut in the log, never buffered.
 */
export function drainStderr(stderr: Readable, log: (line: string) => void): void {
  const MAX_LOGGED = 16 * 1024;
  const MAX_LINE = 1024;
  let pending = '';
  let logged = 0;
  let dropped = 0;
  const emit = (line: string) => {
    logged += line.length + 1;
    // As written: the log escapes control characters when it writes a text line.
    const text = line.replace(/\r$/, '');
    log(text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text);
  };
  // Created on the first chunk: most scripts never write to stderr.
  let decoder: StringDecoder | undefined;
  stderr.on('data', (bytes: Buffer) => {
    decoder ??= new StringDecoder('utf8');
    const chunk = decoder.write(bytes);
    if (logged >= MAX_LOGGED) {
      dropped += chunk.length;
      return;
    }
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline !== -1 && logged < MAX_LOGGED) {
      emit(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (logged >= MAX_LOGGED) {
      dropped += pending.length;
      pending = '';
    } else if (pending.length > MAX_LINE) {
      emit(pending);
      pending = '';
    }
  });
  stderr.on('error', () => {});
  stderr.on('end', () => {
    // A character cut off at the very end becomes U+FFFD, logged or counted like any other.
    const rest = decoder?.end() ?? '';
    if (logged >= MAX_LOGGED) dropped += rest.length;
    else pending += rest;
    if (pending !== '') emit(pending);
    if (dropped > 0) log(`(stderr truncated: ${dropped} more characters not logged)`);
  });
}
