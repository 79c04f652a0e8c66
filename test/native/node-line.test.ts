// The native spawner is what runs scripts on every Node line the suite runs on (20, 22 and 24:
// scripts/node-lines.sh): the one N-API build loads on each, in a handler and in the CLI.
import { readlinkSync, realpathSync } from 'node:fs';
import { createCgiHandler } from '@cgibridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useAppServers } from '../support/app-server.js';
import { type RunningCli, startCli } from '../support/cli.js';
import { request } from '../support/http.js';

const line = `Node ${process.version}`;
// Linux x64 takes the native spawner unless told otherwise (the addon's own fault switch included).
const expected =
  process.env.CGIBRIDGE_SPAWNER ??
  (process.platform === 'linux' && process.arch === 'x64' && !process.env.CGIBRIDGE_NATIVE_FAULT
    ? 'native'
    : 'child_process');

describe(`the default spawner on ${line}`, () => {
  const servers = useAppServers();

  it(`is ${expected} in a handler, and runs a script`, async () => {
    const handler = createCgiHandler({ root: servers.root().root, mountPath: '/cgi-bin', logger: false });
    expect(handler.gateway.spawner.name).toBe(expected);
    const reply = await request(`${await servers.serve(handler)}/cgi-bin/hello.sh`);
    expect(reply.status).toBe(200);
  });

  describe('in the CLI', () => {
    let cli: RunningCli;
    beforeAll(async () => {
      cli = await startCli([servers.root().root, '--quiet']);
    });
    afterAll(() => cli?.stop());

    it(`is ${expected}, with the CLI on the same Node as the tests (its node found on PATH)`, async () => {
      expect(realpathSync(readlinkSync(`/proc/${cli.proc.pid}/exe`))).toBe(realpathSync(process.execPath));
      expect(cli.output()).toContain(`(spawner: ${expected})`);
      const reply = await request(`${cli.url}hello.sh`);
      expect(reply.status).toBe(200);
    });
  });
});
