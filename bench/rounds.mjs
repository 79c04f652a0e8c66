// The measurements of a run: idle memory, the spawn-only loop, then rounds of requests,
// downloads and uploads, each round starting with another host.
import { setTimeout as sleep } from 'node:timers/promises';
import { SCRIPTS } from './figures.mjs';
import { download, spawnRate, upload } from './transfer.mjs';

const MiB = 1024 * 1024;
const SLOW_RATE = 20 * 1e6; // bytes/s for the slow client
const SLOW_SECONDS = 6;

/** The slow client's description, for the report. */
export const SLOW_NOTE = `The slow client reads at ${SLOW_RATE / 1e6} MB/s for at most ${SLOW_SECONDS} s of the response, then disconnects.`;

/** `hosts` rotated by `round`: a drift of the machine's speed does not always favour the same host. */
const rotated = (hosts, round) => {
  const shift = hosts.length === 0 ? 0 : (round - 1) % hosts.length;
  return [...hosts.slice(shift), ...hosts.slice(0, shift)];
};

function measureRequests(host, s, generator, push) {
  // A reference host (a framework around the floor) only gives hello.sh context.
  const keys = host.spec.role === 'reference' ? s.scriptKeys.filter((k) => k === 'sh') : s.scriptKeys;
  for (const key of keys) {
    const { path, post } = SCRIPTS[key];
    for (const c of [1, 8]) {
      const before = host.cpuMs();
      const r = generator.load(host.url(path), c, s.duration, post);
      const after = host.cpuMs();
      for (const field of ['rps', 'p50', 'p99', 'errors']) push(host.name, `${key} c${c} ${field}`, r[field]);
      // Where a 2-core machine's time goes: µs of CPU per request, the server's and its scripts'.
      const requests = r.rps * s.duration;
      push(host.name, `${key} c${c} cpu`, ((after.self - before.self) * 1000) / requests);
      push(host.name, `${key} c${c} script cpu`, ((after.scripts - before.scripts) * 1000) / requests);
    }
  }
}

async function measureStream(host, s, push) {
  const fast = await download(host, s.streamBytes);
  // >=: the floor passes the script's header block through as body.
  push(host.name, 'stream mbps', fast.received >= s.streamBytes ? fast.mbps : Number.NaN);
  push(host.name, 'stream growth', fast.growthMiB);
  if (fast.note) push(host.name, 'stream note', `response: ${fast.note} after ${fast.received} B`);
  const slow = await download(host, s.streamBytes, { rate: SLOW_RATE, seconds: SLOW_SECONDS });
  push(host.name, 'slow growth', slow.growthMiB);
  if (slow.note) push(host.name, 'stream note', `slow client: ${slow.note} after ${slow.received} B`);
}

async function measureUploads(host, s, push) {
  const echo = await upload(host, 'echo.sh', s.uploadBytes);
  push(host.name, 'echo mbps', echo.echoed >= s.uploadBytes ? echo.mbps : Number.NaN);
  if (echo.note || echo.echoed < s.uploadBytes) push(host.name, 'echo note', echo.note ?? `echoed ${echo.echoed} B`);
  const count = await upload(host, 'count.sh', s.uploadBytes);
  push(host.name, 'count mbps', count.status === 200 ? count.mbps : Number.NaN);
  if (count.note || count.status !== 200) push(host.name, 'count note', count.note ?? `status ${count.status}`);
}

/**
 * Runs every measurement `s` (the run's settings) asks for against the `live` hosts.
 * @returns `{ perHost: Map<host, Record<key, number[]>>, spawnOnly? }`.
 */
export async function runRounds(live, s, generator, log) {
  const perHost = new Map(live.map((h) => [h.name, {}]));
  const push = (host, key, value) => {
    const r = perHost.get(host);
    r[key] ??= [];
    r[key].push(value);
  };
  await sleep(1000); // let every host settle after its start
  for (const host of live) push(host.name, 'idle rss', host.rssBytes() / MiB);

  let spawnOnly;
  if (s.groups.includes('spawn')) {
    log('spawn-only loop');
    const script = `${s.scripts}/hello.sh`;
    spawnOnly = { c1: await spawnRate(script, 1, s.duration), c8: await spawnRate(script, 8, s.duration) };
  }
  if (s.groups.includes('hello')) {
    // V8 is still optimizing a Node host's request path for several seconds (hundreds of
    // functions); a server that has run for an hour is what these figures describe.
    for (const host of live) {
      log(`${host.name}: ${s.warmup} s warm-up`);
      generator.load(host.url('/cgi-bin/hello.sh'), 8, s.warmup);
    }
  }
  const transferring = live.filter((h) => h.spec.role !== 'reference');
  for (let round = 1; round <= s.rounds; round++) {
    if (s.groups.includes('hello')) {
      for (const host of rotated(live, round)) {
        log(`round ${round}/${s.rounds}: ${host.name} requests`);
        measureRequests(host, s, generator, push);
      }
    }
    for (const host of rotated(transferring, round)) {
      if (s.groups.includes('stream')) {
        log(`round ${round}/${s.rounds}: ${host.name} ${s.streamBytes / MiB} MiB response, then the slow client`);
        await measureStream(host, s, push);
      }
      if (s.groups.includes('upload')) {
        log(`round ${round}/${s.rounds}: ${host.name} ${s.uploadBytes / MiB} MiB echo and upload`);
        await measureUploads(host, s, push);
      }
    }
  }
  await sleep(2000); // the last response's buffers released, scripts reaped
  for (const host of live) push(host.name, 'idle rss after', host.rssBytes() / MiB);
  return { perHost, spawnOnly };
}
