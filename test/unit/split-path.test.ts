import { isAbsolute, join, relative, resolve } from 'node:path';
import { CgiError, splitCgiPath } from '@cgibridge/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe('splitCgiPath', () => {
  it.each([
    ['', []],
    ['/', ['']],
    ['/a/b', ['a', 'b']],
    ['/a%20b/%C3%BC', ['a b', 'ü']],
    ['/dir/', ['dir', '']],
    ['/a%25b', ['a%b']],
    ['/a%3Bb;c', ['a;b;c']],
  ])('splits %j', (raw, segments) => {
    expect(splitCgiPath(raw)).toEqual(segments);
  });

  it.each([
    ['/..', 404],
    ['/%2e%2e', 404],
    ['/%2E.', 404],
    ['/a/./b', 404],
    ['/a%2fb', 404],
    ['/a%2Fb', 404],
    ['/a%5cb', 404],
    ['/a\\b', 404],
    ['/a%00', 404],
    ['/.git/config', 404],
    ['/a.', 404],
    ['/a%20', 404],
    ['/a%0d%0aX: y', 404],
    ['/%zz', 400],
    ['/%e0%80%ae', 400],
    ['/%c0%af', 400],
    ['/%', 400],
    ['relative', 404],
  ])('refuses %j with %i', (raw, status) => {
    expect(() => splitCgiPath(raw)).toThrow(expect.objectContaining({ status }));
  });

  it('never yields a segment that could leave the root, for any input', () => {
    const root = '/srv/cgi-bin';
    const piece = fc.oneof(
      fc.constantFrom(
        '..',
        '.',
        '%2e',
        '%2E',
        '%2f',
        '%5c',
        '%00',
        '%c0%ae',
        '%25',
        '/',
        '\\',
        ' ',
        'a',
        '%20',
        '~',
        ':',
      ),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const raw = `/${pieces.join('')}`;
        let segments: string[];
        try {
          segments = splitCgiPath(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(CgiError);
          return;
        }
        for (const segment of segments) {
          expect(segment).not.toMatch(/[/\\\0]/);
          expect(segment.startsWith('.')).toBe(false);
        }
        const target = resolve(join(root, ...segments));
        const rel = relative(root, target);
        expect(rel.startsWith('..') || isAbsolute(rel)).toBe(false);
      }),
      { numRuns: NUM_RUNS * 10 },
    );
  });
});
