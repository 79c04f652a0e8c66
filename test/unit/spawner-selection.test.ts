import { spawnSync } from 'node:child_process';
import { arch, platform } from 'node:process';
import { createCgiGateway } from '@cgibridge/core';
import { expect, it } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';

it.runIf(platform === 'linux' && arch === 'x64' && process.env.CGIBRIDGE_SPAWNER === undefined)(
  'takes the native spawner by default on Linux x64: a missing or broken build never passes unnoticed',
  () => {
    const gateway = createCgiGateway({ root: FIXTURES, logger: false });
    expect(gateway.spawner.name).toBe('native');
  },
);

it('takes child_process when asked, by option or by CGIBRIDGE_SPAWNER', () => {
  expect(createCgiGateway({ root: FIXTURES, logger: false, spawner: 'child_process' }).spawner.name).toBe(
    'child_process',
  );
});

const CORE = new URL('../../packages/core/dist/index.js', import.meta.url).href;

/** Creates a gateway in a fresh Node process (the addon's status is read once per process). */
function inFreshProcess(fault: string, spawner: string) {
  const program = `
    const { createCgiGateway } = await import(${JSON.stringify(CORE)});
    const lines = [];
    const logger = { debug() {}, warn() {}, error() {}, info: (m) => lines.push(m) };
    try {
      const gateway = createCgiGateway({ root: ${JSON.stringify(FIXTURES)}, logger, spawner: ${JSON.stringify(spawner)} });
      console.log(JSON.stringify({ name: gateway.spawner.name, lines }));
    } catch (error) {
      console.log(JSON.stringify({ error: error.message }));
    }`;
  const env: NodeJS.ProcessEnv = { ...process.env, CGIBRIDGE_NATIVE_FAULT: fault };
  delete env.CGIBRIDGE_SPAWNER;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8', env });
  return JSON.parse(result.stdout) as { name?: string; lines?: string[]; error?: string };
}

it.runIf(platform === 'linux').each([
  ['no-addon', /no prebuild|not built|cannot be loaded|no-addon/i],
  ['no-pidfd', /pidfd/],
  ['no-clone', /trial spawn failed/],
  ['platform', /Linux-only/],
])('falls back to child_process with one line saying why (%s), and spawner: native fails at start', (fault, why) => {
  const auto = inFreshProcess(fault, 'auto');
  expect(auto.name).toBe('child_process');
  const said = auto.lines?.filter((line) => line.includes('using the child_process spawner')) ?? [];
  expect(said).toHaveLength(1);
  expect(said[0]).toMatch(why);
  const native = inFreshProcess(fault, 'native');
  expect(native.error).toMatch(/option "spawner" must be "auto" or "child_process" here/);
  expect(native.error).toMatch(why);
});
