#!/usr/bin/env node
// Warm Python against cold, at the spawner seam (no HTTP): requests per second of hello.py and
// of a cgi.FieldStorage form POST through the child_process spawner and through the warm one,
// at a fixed concurrency, and the CPU time each request cost (this process, its children, the
// zygote and its children, from /proc): on a shared machine the CPU figure is the steadier one.
// Short on purpose: the machine may be shared.
//
//   node bench/warm.mjs [--seconds 3] [--concurrency 8]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createChildProcessSpawner } from '../packages/core/dist/child-process-spawner.js';
import { createWarmSpawner } from '../packages/core/dist/warm-python.js';
import { processCpuMs } from './host-process.mjs';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '8' } },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
// The real interpreter first: a pyenv shim in the server's PATH costs more than Python itself.
const baseEnv = { PATH: '/usr/bin:/bin', LANG: process.env.LANG ?? 'C.UTF-8' };
const body = 'name=caf%C3%A9&tags=a&tags=b&comment=' + 'x'.repeat(200);
const CASES = {
  'hello.py': { script: here('./scripts/hello.py'), env: { REQUEST_METHOD: 'GET' }, body: '' },
  'form.py (cgi.FieldStorage POST)': {
    script: here('./scripts/form.py'),
    env: {
      REQUEST_METHOD: 'POST',
      CONTENT_TYPE: 'application/x-www-form-urlencoded',
      CONTENT_LENGTH: String(body.length),
    },
    body,
  },
};

async function once(spawner, c) {
  const proc = await spawner.spawn({
    command: c.script,
    args: [],
    env: { ...baseEnv, GATEWAY_INTERFACE: 'CGI/1.1', ...c.env },
    cwd: here('./scripts'),
    script: c.script,
  });
  const chunks = [];
  proc.stdin.on('error', () => {});
  proc.stdin.end(c.body);
  proc.stdout.on('data', (d) => chunks.push(d));
  proc.stderr.resume();
  const [exit] = await Promise.all([proc.exit, new Promise((r) => proc.stdout.on('end', r))]);
  if (exit.code !== 0) throw new Error(`exit ${JSON.stringify(exit)}`);
  return Buffer.concat(chunks).toString();
}

/** CPU milliseconds a process and its reaped children have used (Linux). */
function cpuMs(pid) {
  const { self, children } = processCpuMs(pid);
  return self + children;
}

async function measure(spawner, c, pids) {
  const until = Date.now() + SECONDS * 1000;
  const cpuBefore = pids.map(cpuMs);
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        await once(spawner, c);
        done++;
      }
    }),
  );
  const cpu = pids.map(cpuMs).reduce((sum, ms, i) => sum + ms - (cpuBefore[i] ?? 0), 0);
  return { rate: done / SECONDS, cpuPerRequest: cpu / done };
}

const logger = { debug() {}, info() {}, warn: (m) => console.error(m), error: (m) => console.error(m) };
const cold = createChildProcessSpawner();
// One zygote for the whole run: a replacement mid-measure would take its CPU figures with it.
const warm = createWarmSpawner(cold, { baseEnv, extensions: ['.py'], maxRequests: 1e9 }, logger);
for (const [name, c] of Object.entries(CASES)) {
  // Until a zygote is ready the warm spawner itself runs cold.
  while (!warm.stats().zygotes.some((z) => z.state === 'ready')) await once(warm, c);
  const same = (await once(cold, c)) === (await once(warm, c));
  const zygote = warm.stats().zygotes.find((z) => z.state === 'ready')?.pid;
  const coldRun = await measure(cold, c, [process.pid]);
  const warmBefore = warm.stats().warm;
  const warmRun = await measure(warm, c, [process.pid, zygote]);
  const allWarm = warm.stats().warm - warmBefore === Math.round(warmRun.rate * SECONDS);
  console.log(
    `${name}: cold ${coldRun.rate.toFixed(0)}/s, warm ${warmRun.rate.toFixed(0)}/s (${(warmRun.rate / coldRun.rate).toFixed(1)}x); ` +
      `CPU per request cold ${coldRun.cpuPerRequest.toFixed(1)} ms, warm ${warmRun.cpuPerRequest.toFixed(1)} ms ` +
      `(${(coldRun.cpuPerRequest / warmRun.cpuPerRequest).toFixed(1)}x) ` +
      `[c=${CONCURRENCY}, ${SECONDS}s each; same output: ${same}; all warm: ${allWarm}]`,
  );
}
await warm.close();
