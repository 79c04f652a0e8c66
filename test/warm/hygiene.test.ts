// Three hundred requests leave nothing behind: no zombie, no descriptor, no memory.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newWarmSpawner, optionsFor, run, runExpecting, scriptDir, warmUp, zygotePid } from './harness.js';

const files = scriptDir();
const spawner = newWarmSpawner({ maxRequests: 10_000 });
const REQUESTS = 300;

beforeAll(async () => {
  await warmUp(spawner, optionsFor(files.write('warmup.py', 'pass\n'), 'shebang'));
});
afterAll(async () => {
  await spawner.close();
  files.cleanup();
});

const fdCount = (pid: number | 'self') => readdirSync(`/proc/${pid}/fd`).length;
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

/** Processes whose parent is `pid`, with their state letter (Z for a zombie). */
function childrenOf(pid: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid) found.push(`${entry}:${state}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

it(`${REQUESTS} warm requests (ok, failing, killed, 8 at a time): no zombies, no leaked descriptors, flat memory`, async () => {
  const ok = files.write('ok.py', 'import sys\nprint("Content-Type: text/plain\\n")\nprint(sys.stdin.read())\n');
  const failing = files.write('failing.py', 'import json\nraise SystemExit(json.loads("3"))\n');
  const slow = files.write('slow.py', 'import time\nprint("x", flush=True)\ntime.sleep(30)\n');
  const zygote = zygotePid(spawner);
  // A first round so that lazily created state (caches, pymalloc arenas) exists before measuring.
  for (let i = 0; i < 20; i++) await run(spawner, optionsFor(ok, 'shebang'), 'warm-up');
  const before = { zygoteFds: fdCount(zygote), ownFds: fdCount('self'), rss: rssKiB(zygote), ...spawner.stats() };

  const one = async (i: number) => {
    if (i % 25 === 0) {
      const proc = await spawner.spawn(optionsFor(slow, 'shebang'));
      proc.stdin.end();
      proc.stdout.resume();
      proc.stderr.resume();
      await new Promise((resolve) => proc.stdout.once('data', resolve));
      proc.killGroup('SIGKILL');
      expect(await proc.exit).toEqual({ code: null, signal: 'SIGKILL' });
      return;
    }
    const result = await run(spawner, optionsFor(i % 5 === 0 ? failing : ok, 'shebang'), `body ${i}`);
    expect(result.exit.code).toBe(i % 5 === 0 ? 3 : 0);
    if (i % 5 !== 0) expect(result.stdout.toString()).toBe(`Content-Type: text/plain\n\nbody ${i}\n`);
  };
  for (let i = 0; i < REQUESTS; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, REQUESTS - i) }, (_, k) => one(i + k)));
  }

  expect(spawner.stats().warm - before.warm).toBe(REQUESTS);
  expect(spawner.stats().cold).toBe(before.cold);
  expect(spawner.stats().zygotes.map((z) => z.pid)).toEqual([zygote]);
  expect(childrenOf(zygote)).toEqual([]);
  expect(fdCount(zygote)).toBe(before.zygoteFds);
  expect(fdCount('self')).toBeLessThanOrEqual(before.ownFds + 2);
  // Forking never grows the parent; what may grow is its own bookkeeping, bounded well below this.
  expect(rssKiB(zygote) - before.rss).toBeLessThan(1024);
});

it("a warm child holds exactly stdin, stdout and stderr: none of the zygote's descriptors", async () => {
  const script = files.write('fds.py', 'import os\nprint(sorted(os.listdir("/proc/self/fd")))\n');
  const result = await runExpecting('warm', spawner, optionsFor(script, 'shebang'));
  // The fourth is listdir's own descriptor.
  expect(result.stdout.toString()).toBe("['0', '1', '2', '3']\n");
});
