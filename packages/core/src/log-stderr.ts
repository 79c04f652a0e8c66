import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { quoteForLog } from './logger.js';

/** Logs stderr line by line, bounded: a flood is cut in the log, never buffered. */
export function drainStderr(stderr: Readable, log: (line: string) => void): void {
  const MAX_LOGGED = 16 * 1024;
  const MAX_LINE = 1024;
  let pending = '';
  let logged = 0;
  let dropped = 0;
  const emit = (line: string) => {
    logged += line.length + 1;
    log(quoteForLog(line.replace(/\r$/, ''), MAX_LINE).slice(1, -1));
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
