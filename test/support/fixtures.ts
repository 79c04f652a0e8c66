import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURES = new URL('../fixtures/cgi-bin/', import.meta.url).pathname;

/** A fresh copy of the fixture scripts plus the symlinks git cannot be trusted to keep. */
export interface ScriptRoot {
  /** The directory to serve (the script root). */
  readonly root: string;
  /** A directory beside the root, outside it: where escaping symlinks point. */
  readonly outside: string;
  /** A scratch directory for pid files and the like. */
  readonly scratch: string;
  readonly cleanup: () => void;
}

export function makeScriptRoot(): ScriptRoot {
  const base = mkdtempSync(join(tmpdir(), 'cgibridge-test-'));
  const root = join(base, 'cgi-bin');
  const outside = join(base, 'outside');
  const scratch = join(base, 'scratch');
  cpSync(FIXTURES, root, { recursive: true });
  mkdirSync(outside);
  mkdirSync(scratch);
  writeFileSync(join(outside, 'evil.sh'), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nOUTSIDE-SCRIPT-RAN\\n"\n', {
    mode: 0o755,
  });
  symlinkSync(join(outside, 'evil.sh'), join(root, 'link-out.sh'));
  symlinkSync(outside, join(root, 'link-dir'));
  symlinkSync(join(root, 'hello.sh'), join(root, 'link-in.sh'));
  // Hidden files that must never be reached (git cannot carry a .git directory in fixtures).
  mkdirSync(join(root, '.git'));
  writeFileSync(join(root, '.git', 'config'), '[core]\nTOP-SECRET-DATA-FILE\n');
  writeFileSync(join(root, '.env'), 'TOP-SECRET-DATA-FILE=1\n', { mode: 0o755 });
  return { root, outside, scratch, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
