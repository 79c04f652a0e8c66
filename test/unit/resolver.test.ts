import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { CgiError, createCgiGateway, resolveScript, splitCgiPath } from '@cgibridge/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe('resolveScript over a real tree (property)', () => {
  let base: string;
  let root: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'cgibridge-resolver-'));
    root = join(base, 'root');
    const outside = join(base, 'outside');
    mkdirSync(join(root, 'dir', 'deeper'), { recursive: true });
    mkdirSync(outside);
    for (const file of ['a.sh', 'dir/b.sh', 'dir/deeper/c.sh', 'x.py']) {
      writeFileSync(join(root, file), '#!/bin/sh\n', { mode: 0o755 });
    }
    writeFileSync(join(outside, 'evil.sh'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync(join(outside, 'evil.sh'), join(root, 'out.sh'));
    symlinkSync(outside, join(root, 'outdir'));
    symlinkSync('../..', join(root, 'dir', 'up'));
    symlinkSync(join(root, 'a.sh'), join(root, 'dir', 'in.sh'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('never yields a script outside the root, for any URL path', async () => {
    const { config } = createCgiGateway({ root, logger: false, interpreters: { '.py': 'python3' } });
    const rootReal = realpathSync(root);
    const piece = fc.oneof(
      fc.constantFrom('a.sh', 'dir', 'deeper', 'b.sh', 'c.sh', 'x.py', 'out.sh', 'outdir', 'evil.sh', 'up', 'in.sh'),
      fc.constantFrom('..', '.', '%2e%2e', '%2e', '%2f', '%5c', '%00', '%c0%ae', '', '~', 'root', 'outside'),
      fc.string({ maxLength: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 8 }), fc.boolean(), async (pieces, trailing) => {
        const raw = `/${pieces.join('/')}${trailing ? '/' : ''}`;
        let match: Awaited<ReturnType<typeof resolveScript>>;
        try {
          match = await resolveScript(splitCgiPath(raw), '/cgi', config);
        } catch (error) {
          expect(error).toBeInstanceOf(CgiError);
          return;
        }
        if (match === null || 'directoryRedirect' in match) return;
        expect(realpathSync(match.filename).startsWith(rootReal + sep)).toBe(true);
        expect(match.scriptName.startsWith('/cgi/')).toBe(true);
      }),
      // A run that takes longer than this is a hang: the property fails.
      { numRuns: NUM_RUNS * 3, timeout: 2000 },
    );
  });
});
