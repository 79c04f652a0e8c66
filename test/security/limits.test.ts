import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect, it } from 'vitest';
import { request } from '../support/http.js';
import { securityGroup } from '../support/security.js';
import { eventually } from '../support/suite.js';
import { processesOf } from '../support/users.js';

const MiB = 1024 * 1024;
/** The user the fork bomb runs as: its own, so no other test's processes count against its limit. */
const FORK_USER = 61_234;

const root = process.getuid?.() === 0;

securityGroup("security: per-script resource limits (Apache's RLimitCPU, RLimitMEM, RLimitNPROC)", (ctx) => {
  it('applies the limits to the script before it runs', async () => {
    const server = await ctx.start({ limits: { cpuSeconds: 7, memoryBytes: 300 * MiB, processes: 50 } });
    const limits = (await request(`${server.origin}/cgi-bin/limits.sh`)).text;
    expect(limits).toMatch(/Max cpu time\s+7\s+8\s+seconds/);
    expect(limits).toMatch(new RegExp(`Max address space\\s+${300 * MiB}\\s+${300 * MiB}\\s+bytes`));
    expect(limits).toMatch(/Max processes\s+50\s+50\s+processes/);
  });

  it('a CPU hog is stopped by the kernel at its CPU limit, and the server says so', async () => {
    const server = await ctx.start({ limits: { cpuSeconds: 1 }, timeout: 20_000 });
    expect((await ctx.probe('/cgi-bin/cpuhog.sh', {}, server.origin)).status).toBe(502);
    await eventually(
      () => /cpuhog\.sh: the script was killed by SIGXCPU \(its CPU time limit\)/.test(server.logger.text()),
      5000,
      'log',
    );
  });

  it('a memory hog gets no more than its address-space limit', async () => {
    const server = await ctx.start({ limits: { memoryBytes: 256 * MiB } });
    expect((await ctx.probe('/cgi-bin/memhog.py', {}, server.origin)).text).toBe('MemoryError\n');
    const unlimited = await ctx.probe('/cgi-bin/memhog.py');
    expect(unlimited.text).toBe('allocated\n');
  });

  it.skipIf(!root)('a fork bomb run as another user stops at its process limit; the app keeps serving', async () => {
    // The kernel does not apply RLIMIT_NPROC to root: scripts run as another user, who must reach
    // them. A user of this test's own (no /etc/passwd entry needed): RLIMIT_NPROC counts every
    // process of the user, and other test files run scripts as nobody at the same time.
    chmodSync(dirname(ctx.root.root), 0o755);
    const server = await ctx.start({ runAs: `${FORK_USER}:${FORK_USER}`, limits: { processes: 20 }, killGrace: 200 });
    // RLIMIT_NPROC counts every process of the user: wait for the last run's to be gone.
    await eventually(() => processesOf(FORK_USER) === 0, 10_000, "the last run's processes to be gone");
    const started = Number((await ctx.probe('/cgi-bin/forks.py', {}, server.origin)).text);
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(20);
    expect((await ctx.probe('/cgi-bin/hello.sh', {}, server.origin)).status).toBe(200);
  });
});
