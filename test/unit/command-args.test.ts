import { parseCommandArgs } from '@cgibridge/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe('parseCommandArgs (RFC 3875 §4.4)', () => {
  it.each([
    ['', []],
    ['a=b', []],
    ['a+b=c', []],
    ['one', ['one']],
    ['one+two%20words', ['one', 'two words']],
    ['%3Bls+%7Cid', [';ls', '|id']],
  ])('turns %j into %j', (query, args) => {
    expect(parseCommandArgs(query)).toEqual(args);
  });

  it.each(['-s', 'a+-d', '%2Dd', '%C2%ADd', '%AD', 'a%0Ab', '%zz'])('refuses %j with 400', (query) => {
    expect(() => parseCommandArgs(query)).toThrow(expect.objectContaining({ code: 'ERR_CGI_BAD_ARGS', status: 400 }));
  });

  it('never yields an option-like or non-ASCII argument', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (text) => {
        const query = encodeURIComponent(text).replace(/%2B/g, '+').replace(/%3D/g, '');
        let args: string[];
        try {
          args = parseCommandArgs(query);
        } catch {
          return;
        }
        for (const arg of args) {
          expect(arg.startsWith('-')).toBe(false);
          expect(arg).toMatch(/^[\x20-\x7e]*$/);
        }
      }),
      { numRuns: NUM_RUNS * 3 },
    );
  });
});
