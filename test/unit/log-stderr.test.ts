import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
// Internal module: the gateway's stderr reader, tested on its own stream.
import { drainStderr } from '../../packages/core/dist/log-stderr.js';

/** Feeds chunks through drainStderr and returns what it logged. */
async function drain(chunks: Buffer[]): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  drainStderr(stream, (line) => lines.push(line));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await new Promise((resolve) => stream.once('end', resolve));
  return lines;
}

const euro = Buffer.from('€'); // three bytes

it('joins a character split across chunks, and logs a final line without a newline', async () => {
  const lines = await drain([Buffer.from('price: '), euro.subarray(0, 1), euro.subarray(1), Buffer.from('5\nlast')]);
  expect(lines).toEqual(['price: €5', 'last']);
});

it('stops at 16 KiB within one chunk and counts every character it did not log', async () => {
  const flood = Buffer.from(`${'x'.repeat(99)}\n`.repeat(200)); // 20,000 characters in one chunk
  const lines = await drain([flood]);
  const logged = lines.slice(0, -1);
  expect(logged.every((line) => line === 'x'.repeat(99))).toBe(true);
  const note = /^\(stderr truncated: (\d+) more characters not logged\)$/.exec(lines.at(-1) ?? '');
  expect(note).not.toBeNull();
  expect(logged.length * 100 + Number(note?.[1])).toBe(20_000);
});

it('counts a character cut off at the end after the bound', async () => {
  const flood = Buffer.from(`${'x'.repeat(99)}\n`.repeat(200));
  const lines = await drain([flood, euro.subarray(0, 2)]);
  const note = /^\(stderr truncated: (\d+) more characters not logged\)$/.exec(lines.at(-1) ?? '');
  expect(Number(note?.[1])).toBe(20_000 - (lines.length - 1) * 100 + 1);
});
