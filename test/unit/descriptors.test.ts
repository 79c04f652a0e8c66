import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';

const CORE = fileURLToPath(new URL('../../packages/core/dist/index.js', import.meta.url));

it('warns once, naming them, when the host process holds descriptors scripts would inherit', () => {
  // The shell hands fd 40 and 41 on without close-on-exec, as a careless parent would
  // (Node marks 3 to 16 close-on-exec at start, nothing above).
  const program = `
    const { createCgiHandler, listInheritedDescriptors } = await import(${JSON.stringify(CORE)});
    const lines = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m) => lines.push(m) };
    // Only child_process passes such descriptors on; the native spawner closes all but 0-2.
    createCgiHandler({ root: ${JSON.stringify(FIXTURES)}, logger, spawner: 'child_process' });
    createCgiHandler({ root: ${JSON.stringify(FIXTURES)}, logger, spawner: 'child_process' });
    console.log(JSON.stringify({ lines, fds: listInheritedDescriptors() }));
  `;
  const result = spawnSync(
    'bash',
    ['-c', 'exec 40</dev/null 41</dev/null && exec "$0" "$@"', process.execPath, '--input-type=module', '-e', program],
    { encoding: 'utf8' },
  );
  const { lines, fds } = JSON.parse(result.stdout as string) as { lines: string[]; fds: number[] };
  expect(fds).toEqual(expect.arrayContaining([40, 41]));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^\S+Z WARN - file descriptors (\d+, )*40, 41(, \d+)* were inherited without close-on-exec/);
});
