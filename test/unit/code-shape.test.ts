import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const PACKAGES = new URL('../../packages/', import.meta.url).pathname;

/** Lines of code: not blank, not a comment line. */
function codeLines(file: string): number {
  let inComment = false;
  let count = 0;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (inComment) {
      if (line.includes('*/')) inComment = false;
      continue;
    }
    if (line.startsWith('/*')) {
      inComment = !line.includes('*/');
      continue;
    }
    if (line === '' || line.startsWith('//')) continue;
    count++;
  }
  return count;
}

const adapters = readdirSync(PACKAGES).filter((name) => !['core', 'cli', 'native'].includes(name));

it.each(adapters)('the %s adapter stays thin (under 100 lines of code: the logic lives in core)', (name) => {
  const src = join(PACKAGES, name, 'src');
  const total = readdirSync(src)
    .filter((file) => file.endsWith('.ts'))
    .reduce((sum, file) => sum + codeLines(join(src, file)), 0);
  expect(total).toBeLessThan(100);
});
