#!/usr/bin/env node
// Soak: drives the cgibridge CLI server with a mix of normal, aborted, timed-out, oversize and
// malformed requests at a fixed concurrency, then compares the server's processes, zombies,
// descriptors and memory before and after. Exits 1 if anything leaked.
//
//   node test/soak/soak.mjs [--requests 10000] [--concurrency 16]
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '10000' }, concurrency: { type: 'string', default: '16' } },
});
const TOTAL = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const CLI = fileURLToPath(new URL('../../node_modules/.bin/cgibridge', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/cgi-bin/', import.meta.url));

const base = mkdtempSync(join(tmpdir(), 'cgibridge-soak-'));
const root = join(base, 'cgi-bin');
cpSync(FIXTURES, root, { recursive: true });

// --- the server under test -------------------------------------------------------------
// A 3 s timeout: long enough that a normal request (hello.py through a pyenv shim costs ~90 ms
// alone) is never cut off on a loaded machine, short enough for the timed-out ones to end.
// With CGIBRIDGE_TEST_WARM=.py the Python requests run in a zygote's children (the warm start).
const WARM = process.env.CGIBRIDGE_TEST_WARM;
const server = spawn(
  CLI,
  [
    'serve',
    root,
    ...['--port', '0', '--quiet', '--timeout', '3s', '--kill-grace', '200ms', '--max-request-body', '64kb'],
    ...(WARM ? ['--warm', WARM] : []),
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let log = '';
server.stdout.on('data', (chunk) => (log += chunk));
server.stderr.on('data', (chunk) => (log += chunk));
const url = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 15_000);
  server.stdout.on('data', () => {
    const match = /serving .* at (http:\/\/\S+)/.exec(log);
    if (match) {
      clearTimeout(timer);
      resolve(match[1]);
    }
  });
});
const { hostname, port } = new URL(url);

// --- what the server holds ----------------------------------------------------------------
function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], ppid: Number(fields[1]) };
}
function descendants(pid) {
  const byParent = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { state, ppid } = procStat(entry);
      if (!byParent.has(ppid)) byParent.set(ppid, []);
      byParent.get(ppid).push({ pid: Number(entry), state });
    } catch {
      // gone
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}
function kilobytes(pid, name) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
}
/** The warm start's zygotes are the server's on purpose: counted apart, checked for growth. */
const isZygote = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cgibridge_zygote');
  } catch {
    return false;
  }
};
function snapshot() {
  const procs = descendants(server.pid);
  const zygotes = procs.filter((p) => isZygote(p.pid));
  return {
    processes: procs.length - zygotes.length,
    zombies: procs.filter((p) => p.state === 'Z').length,
    descriptors: readdirSync(`/proc/${server.pid}/fd`).length,
    rssMiB: kilobytes(server.pid, 'VmRSS') / 1024,
    peakMiB: kilobytes(server.pid, 'VmHWM') / 1024,
    zygotes: zygotes.map((p) => ({
      pid: p.pid,
      rssMiB: kilobytes(p.pid, 'VmRSS') / 1024,
      descriptors: readdirSync(`/proc/${p.pid}/fd`).length,
    })),
  };
}

// --- the traffic ------------------------------------------------------------------------
function httpCall(path, { method = 'GET', body, abortAfterFirstByte = false } = {}) {
  return new Promise((resolve) => {
    const req = request({ hostname, port, path, method, agent: false }, (res) => {
      res.once('data', () => {
        if (abortAfterFirstByte) {
          req.destroy();
          resolve('aborted');
        }
      });
      res.on('data', () => {});
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', () => resolve(abortAfterFirstByte ? 'aborted' : 'error'));
    });
    req.on('error', () => resolve(abortAfterFirstByte ? 'aborted' : 'error'));
    req.end(body);
  });
}
function rawCall(text) {
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk));
    socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 'closed'));
    socket.on('error', () => {});
    socket.setTimeout(5000, () => socket.destroy());
  });
}

const mix = [
  ['normal', 40, () => httpCall('/cgi-bin/hello.sh')],
  ['normal', 15, () => httpCall('/cgi-bin/hello.pl')],
  ['normal', 10, () => httpCall('/cgi-bin/cat.sh', { method: 'POST', body: Buffer.alloc(32 * 1024, 97) })],
  ['normal', 2, () => httpCall('/cgi-bin/hello.py')],
  ['aborted', 8, () => httpCall('/cgi-bin/big.sh?1000000000', { abortAfterFirstByte: true })],
  ['timed-out', 2, () => httpCall('/cgi-bin/sleep.sh?/dev/null')],
  ['oversize', 8, () => httpCall('/cgi-bin/count.sh', { method: 'POST', body: Buffer.alloc(70 * 1024) })],
  ['malformed', 5, () => rawCall('GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n')],
  ['malformed', 5, () => rawCall('GET /cgi-bin/%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')],
  ['malformed', 5, () => httpCall('/cgi-bin/bad-header.sh')],
];
const weights = mix.reduce((sum, [, weight]) => sum + weight, 0);
function pick(i) {
  let slot = (i * 7919) % weights;
  for (const entry of mix) {
    slot -= entry[1];
    if (slot < 0) return entry;
  }
  return mix[0];
}

await httpCall('/cgi-bin/hello.sh'); // warm up before the baseline
// With the warm start, the zygote starts on the first Python request: let it, before the baseline.
for (let i = 0; WARM && i < 100 && snapshot().zygotes.length === 0; i++) {
  await httpCall('/cgi-bin/hello.py');
  await new Promise((resolve) => setTimeout(resolve, 100));
}
// The response is complete once the script closes its output, which can be a moment before
// the server reaps it: take the baseline once that child is gone.
let before = snapshot();
for (let i = 0; i < 20 && before.processes > 0; i++) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  before = snapshot();
}
const started = Date.now();
const outcomes = new Map();
let next = 0;
async function worker() {
  while (next < TOTAL) {
    const [kind, , call] = pick(next++);
    const result = await call();
    const key = `${kind} ${result}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const seconds = (Date.now() - started) / 1000;

// Let the last kills land: nothing may remain once the kill grace has passed.
let after = snapshot();
for (let i = 0; i < 40 && (after.processes > 0 || after.descriptors > before.descriptors); i++) {
  await new Promise((resolve) => setTimeout(resolve, 250));
  after = snapshot();
}

// --- the report ---------------------------------------------------------------------------
const lines = [
  `soak: ${TOTAL} requests at concurrency ${CONCURRENCY} in ${seconds.toFixed(1)} s (${(TOTAL / seconds).toFixed(0)} req/s)`,
  '',
  '| outcome | requests |',
  '| --- | ---: |',
  ...[...outcomes].sort().map(([key, count]) => `| ${key} | ${count} |`),
  '',
  '| server | before | after |',
  '| --- | ---: | ---: |',
  `| child processes | ${before.processes} | ${after.processes} |`,
  `| zombies | ${before.zombies} | ${after.zombies} |`,
  `| open descriptors | ${before.descriptors} | ${after.descriptors} |`,
  `| RSS (MiB) | ${before.rssMiB.toFixed(1)} | ${after.rssMiB.toFixed(1)} |`,
  `| peak RSS (MiB) | ${before.peakMiB.toFixed(1)} | ${after.peakMiB.toFixed(1)} |`,
  ...before.zygotes.flatMap((zygote) => {
    const later = after.zygotes.find((z) => z.pid === zygote.pid);
    return [
      `| zygote ${zygote.pid} RSS (MiB) | ${zygote.rssMiB.toFixed(1)} | ${later?.rssMiB.toFixed(1) ?? 'replaced'} |`,
      `| zygote ${zygote.pid} descriptors | ${zygote.descriptors} | ${later?.descriptors ?? 'replaced'} |`,
    ];
  }),
];
console.log(lines.join('\n'));

const problems = [];
if (after.processes > 0) problems.push(`${after.processes} child processes left`);
if (after.zombies > 0) problems.push(`${after.zombies} zombies`);
if (after.descriptors > before.descriptors)
  problems.push(`descriptors grew ${before.descriptors} -> ${after.descriptors}`);
if (outcomes.has('normal error')) problems.push(`${outcomes.get('normal error')} normal requests failed`);
if (WARM && before.zygotes.length === 0) problems.push('no zygote started: the warm start was not exercised');
for (const zygote of before.zygotes) {
  const later = after.zygotes.find((z) => z.pid === zygote.pid);
  if (later === undefined) continue; // recycled (maxRequests): a fresh one took over
  if (later.descriptors > zygote.descriptors)
    problems.push(`zygote descriptors grew ${zygote.descriptors} -> ${later.descriptors}`);
  if (later.rssMiB - zygote.rssMiB > 2)
    problems.push(`zygote RSS grew ${zygote.rssMiB.toFixed(1)} -> ${later.rssMiB.toFixed(1)} MiB`);
}
if (server.exitCode !== null) problems.push('the server died');

server.kill('SIGTERM');
await new Promise((resolve) => server.once('exit', resolve));
rmSync(base, { recursive: true, force: true });
if (problems.length > 0) {
  console.log(`\nsoak FAILED: ${problems.join('; ')}`);
  process.exit(1);
}
console.log('\nsoak passed: nothing leaked');
