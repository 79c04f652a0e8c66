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
