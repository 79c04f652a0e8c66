import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { listInheritedDescriptors } from '@cgibridge/core';
import { expect, it } from 'vitest';
import { request } from '../support/http.js';
import { securityGroup } from '../support/security.js';
import { alive, eventually, readPids, zombieChildren } from '../support/suite.js';

let n = 0;
securityGroup('security: lifecycle (hangs, leaks, exhaustion)', (ctx) => {
  const file = () => join(ctx.root.scratch, `sec-${process.pid}-${++n}`);

  it('a never-ending script: 504, the script and its background child killed', async () => {
    const server = await ctx.start({ timeout: 300, killGrace: 200 });
    const pids = file();
    expect((await ctx.probe(`/cgi-bin/sleep.sh?${pids}`, {}, server.origin)).status).toBe(504);
    const [script, child] = await readPids(pids);
    await eventually(() => !alive(script as number) && !alive(child as number), 5000, 'group killed');
  });

  it('a slow-drip body: aborted at the timeout, the script killed', async () => {
    const server = await ctx.start({ timeout: 400, killGrace: 200 });
    await expect(ctx.probe('/cgi-bin/drip.sh', {}, server.origin)).rejects.toThrow();
    await eventually(() => server.running() === 0, 5000, 'drip script killed');
  });

  it('a TERM-proof background job outliving its script: SIGKILLed after killGrace', async () => {
    const server = await ctx.start({ timeout: 200, killGrace: 200 });
    const pids = file();
    expect((await ctx.probe(`/cgi-bin/term-proof-child.sh?${pids}`, {}, server.origin)).status).toBe(504);
    const [, job] = await readPids(pids);
    await eventually(() => !alive(job as number), 5000, 'background job killed');
  });

  it('disconnect while the script is silent: its process group is killed at once', async () => {
    const pids = file();
    const req = httpRequest(`${ctx.server.origin}/cgi-bin/sleep.sh?${pids}`);
    req.on('error', () => {});
    req.end();
    const [script, child] = await readPids(pids);
    req.destroy();
    await eventually(() => !alive(script as number) && !alive(child as number), 5000, 'group killed on disconnect');
  });

  it('disconnect while the script writes: it is killed, not left writing into a full pipe', async () => {
    const before = ctx.server.events.filter((e) => e.type === 'end').length;
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${ctx.server.origin}/cgi-bin/big.sh?100000000000`, (res) =>
        res.once('data', () => {
          req.destroy();
          resolve();
        }),
      );
      req.on('error', () => {});
      req.end();
    });
    await eventually(() => ctx.server.events.filter((e) => e.type === 'end').length > before, 5000, 'script ended');
  });

  it('CVE-2014-0231 (mod_cgid): a script that never reads a large upload still gets its answer out', async () => {
    const reply = await ctx.probe('/cgi-bin/ignore-body.sh', { method: 'POST', body: Buffer.alloc(8 * 1024 * 1024) });
    expect(reply.text).toBe('ignored your body\n');
  });

  it('a stderr flood is bounded in the log, never buffered or sent', async () => {
    const reply = await ctx.probe('/cgi-bin/stderr-flood.sh');
    expect(reply.text).toBe('survived\n');
    await eventually(() => ctx.server.logger.text().includes('stderr truncated'), 5000, 'truncation');
  });

  it('a request flood beyond maxConcurrent: 503 with Retry-After, never an unbounded queue', async () => {
    const server = await ctx.start({ maxConcurrent: 2, timeout: 1500, killGrace: 100 });
    const holders = [file(), file()].map((pids) => request(`${server.origin}/cgi-bin/sleep.sh?${pids}`));
    await eventually(() => server.running() === 2, 5000, 'slots taken');
    const refused = await Promise.all(
      Array.from({ length: 6 }, () => ctx.probe('/cgi-bin/hello.sh', {}, server.origin)),
    );
    for (const reply of refused) {
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('1');
    }
    await Promise.all(holders);
  });

  it('scripts inherit only stdin, stdout and stderr', async () => {
    const lines = (await ctx.probe('/cgi-bin/fds.py')).text.trim().split('\n');
    const foreign = listInheritedDescriptors();
    const fds = lines
      .map((l) => l.split(' '))
      .filter(([fd, t]) => !t?.startsWith('/proc/') && !foreign.includes(Number(fd)));
    expect(fds.map(([fd]) => fd)).toEqual(['0', '1', '2']);
  });

  it('no zombies after a burst of failing and succeeding scripts', async () => {
    const paths = ['/cgi-bin/nothing.sh', '/cgi-bin/bad-header.sh', '/cgi-bin/hello.pl', '/cgi-bin/crlf.sh'];
    await Promise.all(Array.from({ length: 16 }, (_, i) => ctx.probe(paths[i % paths.length] as string)));
    await eventually(() => ctx.server.running() === 0, 5000, 'all reaped');
    await eventually(() => zombieChildren().length === 0, 5000, 'no zombies');
  });
});
