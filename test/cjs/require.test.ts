import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('lets a CommonJS app require() the packages and serve a script', () => {
  const app = fileURLToPath(new URL('./app.cjs', import.meta.url));
  const result = spawnSync(process.execPath, ['--no-warnings', app], { encoding: 'utf8', timeout: 20_000 });
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({ status: 200, body: 'hello from perl\n', duration: 2000 });
  expect(result.status).toBe(0);
});
