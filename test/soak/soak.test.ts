import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// The short soak CI runs; `npm run soak` runs the full 10,000 requests.
it('survives a mixed soak (normal, aborted, timed-out, oversize, malformed) without leaking', () => {
  const script = fileURLToPath(new URL('./soak.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [script, '--requests', '1500', '--concurrency', '16'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  console.info(result.stdout);
  expect(result.stdout).toContain('soak passed: nothing leaked');
  expect(result.stdout).toMatch(/\| child processes \| 0 \| 0 \|/);
  expect(result.stdout).toMatch(/\| zombies \| 0 \| 0 \|/);
  expect(result.status).toBe(0);
}, 150_000);
