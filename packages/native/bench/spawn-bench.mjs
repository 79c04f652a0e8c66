// Micro-benchmark: spawns per second of a program, read to EOF and reaped, through
// child_process.spawn, @cgibridge/native spawn (vfork on the main thread) and spawnAsync
// (vfork on libuv's thread pool), at a given concurrency. Also the time the main
// thread spends inside the spawn call itself (what blocks the event loop).
//
//   node packages/native/bench/spawn-bench.mjs [--count=1000] [--ballast-mib=0] [--only=true,hello]
//
// --ballast-mib keeps that much touched memory alive, as a busy server would: fork's
// cost grows with it, vfork's does not.
import { spawn as cpSpawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const native = createRequire(import.meta.url)('../index.js');
if (!native.status.usable) throw new Error(native.status.message);

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    'ballast-mib': { type: 'string', default: '0' },
    only: { type: 'string', default: 'true,hello' },
  },
});
const COUNT = Number(values.count);
const ballast = Buffer.alloc(Number(values['ballast-mib']) * 1024 * 1024, 1);

const dir = mkdtempSync(join(tmpdir(), 'cgibridge-bench-'));
const hello = join(dir, 'hello.sh');
writeFileSync(hello, '#!/bin/sh\nprintf \'Content-Type: text/plain\\r\\n\\r\\n\'\necho "hello from sh"\n', {
  mode: 0o755,
});
const ENV = { PATH: '/usr/bin:/bin', GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET' };
const ENV_LIST = Object.entries(ENV).map(([k, v]) => `${k}=${v}`);

/** Reads a stream to its end; resolves with the byte count. */
function drain(stream) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    stream.on('data', (chunk) => {
      bytes += chunk.length;
    });
    stream.once('end', () => resolve(bytes));
    stream.once('error', reject);
  });
}

let inCall = 0n; // nanoseconds spent inside the spawn calls (main thread blocked)

async function viaChildProcess(file) {
  const started = process.hrtime.bigint();
  const child = cpSpawn(file, [], { env: ENV, cwd: dir, stdio: 'pipe', detached: true });
  inCall += process.hrtime.bigint() - started;
  const exit = new Promise((resolve) => child.once('exit', resolve));
  child.stdin.end();
  await Promise.all([drain(child.stdout), drain(child.stderr), exit]);
}

async function viaNative(file, variant) {
  let onExit;
  const exit = new Promise((resolve) => {
    onExit = resolve;
  });
  const request = { file, argv: [file], env: ENV_LIST, cwd: dir };
  const started = process.hrtime.bigint();
  const child = variant === 'sync' ? native.spawn(request, onExit) : native.spawnAsync(request, onExit);
  inCall += process.hrtime.bigint() - started;
  const fds = variant === 'sync' ? child : await child;
  const stdin = new Socket({ fd: fds.stdin, readable: false, writable: true });
  const stdout = new Socket({ fd: fds.stdout, readable: true, writable: false });
  const stderr = new Socket({ fd: fds.stderr, readable: true, writable: false });
  stdin.end();
  await Promise.all([drain(stdout), drain(stderr), exit]);
}

async function measure(run, concurrency, count) {
  let next = 0;
  inCall = 0n;
  const worker = async () => {
    while (next++ < count) await run();
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: count / seconds, callMicros: Number(inCall) / 1e3 / count };
}

const programs = { true: '/bin/true', hello };
const variants = {
  child_process: (file) => viaChildProcess(file),
  'native sync': (file) => viaNative(file, 'sync'),
  'native async': (file) => viaNative(file, 'async'),
};

console.log(`node ${process.version}, ${COUNT} spawns per cell, ballast ${values['ballast-mib']} MiB`);
console.log('program   concurrency  variant         spawns/s   µs in the call (main thread)');
for (const name of values.only.split(',')) {
  for (const concurrency of [1, 8]) {
    for (const [variant, run] of Object.entries(variants)) {
      await measure(() => run(programs[name]), concurrency, Math.ceil(COUNT / 10)); // warm-up
      const { perSecond, callMicros } = await measure(() => run(programs[name]), concurrency, COUNT);
      console.log(
        `${name.padEnd(9)} ${String(concurrency).padEnd(12)} ${variant.padEnd(15)} ${perSecond.toFixed(0).padStart(8)}   ${callMicros.toFixed(0).padStart(6)}`,
      );
    }
  }
}
rmSync(dir, { recursive: true, force: true });
ballast.fill(0);
