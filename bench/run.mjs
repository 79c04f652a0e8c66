#!/usr/bin/env node
// cgibridge benchmark: every host serves bench/scripts on loopback in its own process; load
// comes from an external generator (wrk, else autocannon); figures are medians over rounds,
// with their spread, and ratios to the floor measured in the same run.
//
//   npm run bench [-- --hosts floor,cgibridge --only hello,stream,upload --duration 2 --rounds 3 --warmup 3]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ALL_HOSTS = [
  'floor',
  'floor+',
  'express(floor+)',
  'koa(floor+)',
  'cgibridge',
  'express',
  'koa',
  'cgi',
  'cgi-core',
];
/** Hosts that only give the hello figures context (a framework's own cost): not streamed to. */
const REFERENCE = new Set(['express(floor+)', 'koa(floor+)']);
const ALL_GROUPS = ['spawn', 'hello', 'stream', 'upload'];
const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: ALL_HOSTS.join(',') },
    only: { type: 'string', default: ALL_GROUPS.join(',') },
    duration: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    'stream-mib': { type: 'string', default: '1024' },
    'upload-mib': { type: 'string', default: '50' },
    output: { type: 'string', default: fileURLToPath(new URL('./RESULTS.md', import.meta.url)) },
    generator: { type: 'string', default: 'wrk' },
  },
});
const HOSTS = values.hosts.split(',');
const GROUPS = values.only.split(',');
const DURATION = Number(values.duration);
const WARMUP = Number(values.warmup);
const ROUNDS = Number(values.rounds);
const STREAM = Number(values['stream-mib']) * 1024 * 1024;
const UPLOAD = Number(values['upload-mib']) * 1024 * 1024;
const SLOW_RATE = 20 * 1e6; // bytes/s for the slow client
const SLOW_SECONDS = 6;
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const log = (...args) => console.error('bench:', ...args);

// --- hosts ---------------------------------------------------------------------------------
async function startHost(name) {
  const proc = spawn(process.execPath, [here('./host.mjs'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve) => {
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.trim());
    });
    proc.once('exit', () => resolve(out.trim() || 'unavailable exited'));
  });
  if (!line.startsWith('listening ')) return { name, unavailable: line.replace(/^unavailable /, '') };
  const port = Number(line.split(' ')[1]);
  const kb = (field) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0);
  return {
    name,
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    rssBytes: () => kb('VmRSS') * 1024,
    stop: () => proc.kill('SIGTERM'),
  };
}

// --- load generator -------------------------------------------------------------------------
const WRK = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
const useWrk = WRK.error === undefined && values.generator === 'wrk';
const generator = useWrk
  ? (WRK.stdout || WRK.stderr)
      .split('\n')[0]
      .replace(/ Copyright.*/, '')
      .trim()
  : `autocannon${WRK.error ? ' (wrk not found)' : ''}`;

function toMs(text) {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

/** Requests/s and latency percentiles for keep-alive load at `connections`, from a separate process. */
function load(url, connections, seconds = DURATION) {
  if (useWrk) {
    const out = spawnSync(
      'wrk',
      ['-t', String(Math.min(connections, 2)), '-c', String(connections), '-d', `${seconds}s`, '--latency', url],
      { encoding: 'utf8' },
    ).stdout;
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
    return {
      rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
      p50: toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''),
      p99: toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
      errors: Number(non2xx ?? 0) + Number(/Socket errors: .*?(\d+) timeout/.exec(out)?.[1] ?? 0),
    };
  }
  const out = spawnSync(
    process.execPath,
    [here('../node_modules/autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), url],
    { encoding: 'utf8' },
  ).stdout;
  const r = JSON.parse(out);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

// --- streams and uploads --------------------------------------------------------------------
/** Downloads `bytes`, optionally at `rate` bytes/s for at most `seconds`; samples the host's RSS. */
function download(host, bytes, { rate, seconds } = {}) {
  return new Promise((resolve, reject) => {
    const base = host.rssBytes();
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, host.rssBytes());
    }, 20);
    const started = performance.now();
    let received = 0;
    // A fresh connection each time: a kept-alive socket the server is closing would reset.
    const req = request(host.url(`/cgi-bin/stream.sh?${bytes}`), { agent: false }, (res) => {
      const finish = () => {
        clearInterval(sampler);
        peak = Math.max(peak, host.rssBytes());
        const elapsed = (performance.now() - started) / 1000;
        resolve({ mbps: received / 1e6 / elapsed, growthMiB: (peak - base) / 1024 / 1024, received });
      };
      res.on('data', (chunk) => {
        received += chunk.length;
        if (rate === undefined) return;
        const elapsed = (performance.now() - started) / 1000;
        if (elapsed > seconds) {
          req.destroy();
          finish();
          return;
        }
        const ahead = received / rate - elapsed;
        if (ahead > 0) {
          res.pause();
          setTimeout(() => res.resume(), ahead * 1000);
        }
      });
      res.on('end', finish);
      res.on('error', () => {});
    });
    req.on('error', (error) => {
      if (rate !== undefined) return; // the slow client hangs up on purpose
      clearInterval(sampler);
      reject(error);
    });
    req.end();
  });
}

/** Uploads `bytes` to a script while reading its reply; resolves with MB/s, or "timeout". */
function upload(host, script, bytes) {
  return new Promise((resolve) => {
    const started = performance.now();
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let echoed = 0;
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ mbps: Number.NaN, note: 'timeout (deadlock?)' });
    }, 60_000);
    const req = request(
      host.url(`/cgi-bin/${script}`),
      { method: 'POST', headers: { 'Content-Length': String(bytes) } },
      (res) => {
        res.on('data', (part) => {
          echoed += part.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          const elapsed = (performance.now() - started) / 1000;
          resolve({ mbps: bytes / 1e6 / elapsed, echoed, status: res.statusCode });
        });
      },
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      resolve({ mbps: Number.NaN, note: error.code ?? error.message });
    });
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** Scripts started per second by child_process.spawn alone, no HTTP. */
async function spawnRate(inFlight) {
  const script = here('./scripts/hello.sh');
  const until = performance.now() + DURATION * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < until) {
      await new Promise((resolve) => {
        const child = spawn(script, [], { stdio: ['ignore', 'pipe', 'ignore'] });
        child.stdout.resume();
        child.on('close', resolve);
      });
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / DURATION;
}

// --- statistics and formatting --------------------------------------------------------------
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => {
  const s = xs.filter(Number.isFinite);
  return s.length > 1 ? ` (${Math.min(...s).toFixed(0)}–${Math.max(...s).toFixed(0)})` : '';
};
const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const pct = (x, floor) =>
  Number.isFinite(x) && Number.isFinite(floor) && floor > 0 ? `${((x / floor) * 100).toFixed(0)}%` : 'n/a';

// --- the run ------------------------------------------------------------------------------------
const runStarted = Date.now();
const hosts = [];
for (const name of HOSTS) {
  const host = await startHost(name);
  if (host.unavailable) log(`${name}: unavailable (${host.unavailable})`);
  hosts.push(host);
}
const live = hosts.filter((h) => !h.unavailable);
const results = new Map(live.map((h) => [h.name, {}]));
const push = (host, key, value) => {
  const r = results.get(host);
  if (r[key] === undefined) r[key] = [];
  r[key].push(value);
};

let spawnOnly;
if (GROUPS.includes('spawn')) {
  log('spawn-only loop');
  spawnOnly = { c1: await spawnRate(1), c8: await spawnRate(8) };
}

if (GROUPS.includes('hello')) {
  // Warm up under load: V8 is still optimizing a host's request path for several seconds
  // (hundreds of functions); a server that has run for an hour is what these figures describe.
  for (const host of live) {
    log(`${host.name}: ${WARMUP} s warm-up`);
    load(host.url('/cgi-bin/hello.sh'), 8, WARMUP);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round starts with another host, so a drift of the machine's speed during the run
    // does not always favour the same host.
    const shift = (round - 1) % live.length;
    for (const host of [...live.slice(shift), ...live.slice(0, shift)]) {
      log(`round ${round}/${ROUNDS}: ${host.name} hello.sh`);
      for (const c of [1, 8]) {
        const r = load(host.url('/cgi-bin/hello.sh'), c);
        push(host.name, `sh c${c} rps`, r.rps);
        push(host.name, `sh c${c} p50`, r.p50);
        push(host.name, `sh c${c} p99`, r.p99);
        push(host.name, `sh c${c} errors`, r.errors);
      }
      if (round === 1 && !REFERENCE.has(host.name)) {
        for (const lang of ['pl', 'py']) {
          log(`${host.name} hello.${lang}`);
          const r = load(host.url(`/cgi-bin/hello.${lang}`), 8);
          push(host.name, `${lang} c8 rps`, r.rps);
        }
      }
    }
  }
}

const streamed = live.filter((h) => !REFERENCE.has(h.name));
if (GROUPS.includes('stream')) {
  for (const host of streamed) {
    log(`${host.name}: ${STREAM / 1048576} MiB stream, then a ${SLOW_RATE / 1e6} MB/s client`);
    const fast = await download(host, STREAM).catch((error) => ({
      mbps: Number.NaN,
      growthMiB: Number.NaN,
      note: error.code,
    }));
    // >=: the floor passes the script's header block through as body.
    push(host.name, 'stream mbps', fast.received >= STREAM ? fast.mbps : Number.NaN);
    push(host.name, 'stream growth', fast.growthMiB);
    const slow = await download(host, STREAM, { rate: SLOW_RATE, seconds: SLOW_SECONDS });
    push(host.name, 'slow growth', slow.growthMiB);
  }
}

if (GROUPS.includes('upload')) {
  for (const host of streamed) {
    log(`${host.name}: ${UPLOAD / 1048576} MiB full-duplex echo and count`);
    const echo = await upload(host, 'echo.sh', UPLOAD);
    push(host.name, 'echo mbps', echo.echoed >= UPLOAD ? echo.mbps : Number.NaN);
    if (echo.note || echo.echoed < UPLOAD) push(host.name, 'echo note', echo.note ?? `echoed ${echo.echoed} bytes`);
    const count = await upload(host, 'count.sh', UPLOAD);
    push(host.name, 'count mbps', count.mbps);
    if (count.note) push(host.name, 'count note', count.note);
  }
}
for (const host of live) host.stop();

// --- the report ---------------------------------------------------------------------------------
const get = (host, key) => results.get(host)?.[key] ?? [];
const med = (host, key) => median(get(host, key));
const floorOf = (key) => med('floor', key);
const versions = Object.fromEntries(
  ['express', 'koa', 'cgi', 'autocannon'].map((name) => {
    try {
      return [name, JSON.parse(readFileSync(here(`../node_modules/${name}/package.json`), 'utf8')).version];
    } catch {
      return [name, 'not installed'];
    }
  }),
);
const sh = spawnSync('sh', ['-c', 'readlink -f /bin/sh; perl -e \'printf "%vd\\n", $^V\'; python3 --version 2>&1'], {
  encoding: 'utf8',
})
  .stdout.trim()
  .split('\n');
const seconds = ((Date.now() - runStarted) / 1000).toFixed(0);

const out = [];
out.push('# cgibridge benchmark results', '');
out.push(
  `Command: \`npm run bench\`${process.argv.length > 2 ? ` (${process.argv.slice(2).join(' ')})` : ''}; run took ${seconds} s on ${new Date().toISOString().slice(0, 10)}.`,
);
out.push(
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}; Node ${process.version}; load: ${generator}, keep-alive, ${WARMUP} s warm-up under load per host, then ${DURATION} s per measurement, ${ROUNDS} rounds, each starting with the next host (medians, min–max in brackets).`,
);
out.push(
  `Scripts: /bin/sh = ${sh[0]}, perl ${sh[1]}, ${sh[2]} (found through env: on this machine a pyenv shim). Versions: express ${versions.express}, koa ${versions.koa}, cgi ${versions.cgi}, autocannon ${versions.autocannon}.`,
);
const missing = hosts.filter((h) => h.unavailable);
if (missing.length)
  out.push(
    `Not measured: ${missing.map((h) => `${h.name} (${h.unavailable}: not on the package registry this machine reaches)`).join(', ')}.`,
  );
out.push(
  '',
  'Hosts: **floor** = node:http + spawn + pipe stdout, no parsing at all; **floor+** = the floor plus what a correct gateway cannot skip (stderr captured, own process group, a CGI-sized environment), still no parsing; **express(floor+)**/**koa(floor+)** = the floor+ handler mounted in Express/Koa (what the framework alone costs, as context for the adapter targets; hello scripts only); **cgibridge** = createCgiHandler; **express**/**koa** = the adapters; **cgi** = the npm package `cgi` in Express, one handler per script.',
  '',
);

if (spawnOnly) {
  out.push(
    '## Spawn alone (no HTTP)',
    '',
    `child_process.spawn of hello.sh: ${fmt(spawnOnly.c1)} scripts/s one at a time, ${fmt(spawnOnly.c8)} scripts/s with 8 in flight.`,
    '',
  );
}
if (GROUPS.includes('hello')) {
  out.push('## Requests: hello scripts', '');
  out.push(
    '| host | sh c1 req/s | vs floor | p50 ms | p99 ms | sh c8 req/s | vs floor | p50 ms | p99 ms | pl c8 req/s | py c8 req/s | errors |',
  );
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const host of live) {
    const n = host.name;
    out.push(
      `| ${n} | ${fmt(med(n, 'sh c1 rps'))}${spread(get(n, 'sh c1 rps'))} | ${pct(med(n, 'sh c1 rps'), floorOf('sh c1 rps'))} | ${fmt(med(n, 'sh c1 p50'), 2)} | ${fmt(med(n, 'sh c1 p99'), 2)} | ${fmt(med(n, 'sh c8 rps'))}${spread(get(n, 'sh c8 rps'))} | ${pct(med(n, 'sh c8 rps'), floorOf('sh c8 rps'))} | ${fmt(med(n, 'sh c8 p50'), 2)} | ${fmt(med(n, 'sh c8 p99'), 2)} | ${fmt(med(n, 'pl c8 rps'))} | ${fmt(med(n, 'py c8 rps'))} | ${get(
        n,
        'sh c1 errors',
      )
        .concat(get(n, 'sh c8 errors'))
        .reduce((a, b) => a + b, 0)} |`,
    );
  }
  out.push('');
}
if (GROUPS.includes('stream') || GROUPS.includes('upload')) {
  out.push(`## Streams: ${STREAM / 1048576} MiB out, ${UPLOAD / 1048576} MiB in`, '');
  out.push(
    '| host | stream MB/s | vs floor | peak RSS growth, fast client (MiB) | peak RSS growth, 20 MB/s client (MiB) | echo (full duplex) MB/s | vs floor | count-only MB/s | vs floor |',
  );
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const host of streamed) {
    const n = host.name;
    const note = [...get(n, 'echo note'), ...get(n, 'count note')].join('; ');
    out.push(
      `| ${n} | ${fmt(med(n, 'stream mbps'))} | ${pct(med(n, 'stream mbps'), floorOf('stream mbps'))} | ${fmt(med(n, 'stream growth'), 1)} | ${fmt(med(n, 'slow growth'), 1)} | ${fmt(med(n, 'echo mbps'))}${note ? ` (${note})` : ''} | ${pct(med(n, 'echo mbps'), floorOf('echo mbps'))} | ${fmt(med(n, 'count mbps'))} | ${pct(med(n, 'count mbps'), floorOf('count mbps'))} |`,
    );
  }
  out.push('', `The 20 MB/s client reads for ${SLOW_SECONDS} s of the stream, then disconnects.`, '');
}

// Targets (issue 5): ratios in this run.
const targets = [];
const ratio = (a, b) => a / b;
if (GROUPS.includes('hello') && results.has('cgibridge') && results.has('floor')) {
  const c8 = ratio(med('cgibridge', 'sh c8 rps'), floorOf('sh c8 rps'));
  targets.push(
    `hello.sh c8, cgibridge >= 90% of the floor: ${(c8 * 100).toFixed(0)}% → ${c8 >= 0.9 ? 'met' : 'missed'}`,
  );
  const peers = ['cgi', 'cgi-core'].filter((p) => results.has(p)).map((p) => med(p, 'sh c8 rps'));
  if (peers.length) {
    const best = Math.max(...peers);
    targets.push(
      `hello.sh c8, cgibridge >= the best peer (${fmt(best)} req/s): ${fmt(med('cgibridge', 'sh c8 rps'))} → ${med('cgibridge', 'sh c8 rps') >= best ? 'met' : 'missed'}`,
    );
  }
  for (const adapter of ['express', 'koa']) {
    if (!results.has(adapter)) continue;
    const r = ratio(med(adapter, 'sh c8 rps'), med('cgibridge', 'sh c8 rps'));
    const own = ratio(med(`${adapter}(floor+)`, 'sh c8 rps'), med('floor+', 'sh c8 rps'));
    const context = Number.isFinite(own)
      ? ` (${adapter} itself, around floor+: ${(own * 100).toFixed(0)}% of floor+)`
      : '';
    targets.push(
      `hello.sh c8, ${adapter} within 5% of the plain handler: ${(r * 100).toFixed(0)}% → ${r >= 0.95 ? 'met' : 'missed'}${context}`,
    );
  }
  const dp50 = med('cgibridge', 'sh c1 p50') - floorOf('sh c1 p50');
  targets.push(
    `hello.sh c1 p50, cgibridge no more than 0.3 ms above the floor: +${dp50.toFixed(2)} ms → ${dp50 <= 0.3 ? 'met' : 'missed'}`,
  );
}
if (GROUPS.includes('stream') && results.has('cgibridge') && results.has('floor')) {
  const s = ratio(med('cgibridge', 'stream mbps'), floorOf('stream mbps'));
  targets.push(
    `stream, cgibridge >= 80% of the floor's MB/s: ${(s * 100).toFixed(0)}% → ${s >= 0.8 ? 'met' : 'missed'}`,
  );
  const g = med('cgibridge', 'slow growth');
  targets.push(`stream, peak RSS growth <= 8 MB with the slow client: ${fmt(g, 1)} MiB → ${g <= 8 ? 'met' : 'missed'}`);
}
if (GROUPS.includes('upload') && results.has('cgibridge') && results.has('floor')) {
  const e = ratio(med('cgibridge', 'echo mbps'), floorOf('echo mbps'));
  targets.push(
    `full-duplex echo completes at >= 80% of the floor's MB/s: ${(e * 100).toFixed(0)}% → ${e >= 0.8 ? 'met' : 'missed'}`,
  );
}
if (targets.length) out.push('## Targets (issue 5)', '', ...targets.map((t) => `- ${t}`), '');

const notes = (() => {
  try {
    const previous = readFileSync(values.output, 'utf8');
    const at = previous.indexOf('## Notes');
    return at === -1 ? '' : previous.slice(at);
  } catch {
    return '';
  }
})();
const report = `${out.join('\n')}\n${notes}`;
writeFileSync(values.output, report.endsWith('\n') ? report : `${report}\n`);
console.log(out.join('\n'));
log(`written to ${values.output}`);
