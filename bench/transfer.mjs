// Single large transfers against a host (a download, an upload, a full-duplex echo), and the
// spawn-only loop that gives the request figures their floor.
import { spawn } from 'node:child_process';
import { request } from 'node:http';

const WATCHDOG_MS = 60_000;

/**
 * Downloads `bytes`, optionally at `rate` bytes/s for at most `seconds`; samples the host's RSS.
 * Resolves with `{ mbps, growthMiB, received, note? }`; never hangs (a minute's watchdog).
 */
export function download(host, bytes, { rate, seconds } = {}) {
  return new Promise((resolve) => {
    const base = host.rssBytes();
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, host.rssBytes());
    }, 20);
    const started = performance.now();
    let received = 0;
    let settled = false;
    const finish = (note) => {
      if (settled) return;
      settled = true;
      clearInterval(sampler);
      clearTimeout(watchdog);
      peak = Math.max(peak, host.rssBytes());
      const elapsed = (performance.now() - started) / 1000;
      resolve({ mbps: received / 1e6 / elapsed, growthMiB: (peak - base) / 1024 / 1024, received, note });
    };
    // A fresh connection each time: a kept-alive socket the server is closing would reset.
    const req = request(host.url(`/cgi-bin/stream.sh?${bytes}`), { agent: false }, (res) => {
      res.on('data', (chunk) => {
        received += chunk.length;
        if (rate === undefined) return;
        const elapsed = (performance.now() - started) / 1000;
        if (elapsed > seconds) {
          finish(); // the slow client hangs up on purpose
          req.destroy();
          return;
        }
        const ahead = received / rate - elapsed;
        if (ahead > 0) {
          res.pause();
          setTimeout(() => res.resume(), ahead * 1000);
        }
      });
      res.on('end', () => finish());
      res.on('close', () => finish(res.complete ? undefined : 'closed early'));
    });
    const watchdog = setTimeout(
      () => {
        finish('timeout');
        req.destroy();
      },
      WATCHDOG_MS + (seconds ?? 0) * 1000,
    );
    req.on('error', (error) => finish(error.code ?? error.message));
    req.end();
  });
}

/**
 * Uploads `bytes` to a script while reading its reply. Resolves with `{ mbps, echoed, status }`,
 * or `{ mbps: NaN, note }` (an error, a reply cut short, a minute's watchdog: a deadlock?).
 */
export function upload(host, script, bytes) {
  return new Promise((resolve) => {
    const started = performance.now();
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let echoed = 0;
    let settled = false;
    const settle = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      settle({ mbps: Number.NaN, note: 'timeout (deadlock?)' });
      req.destroy();
    }, WATCHDOG_MS);
    const req = request(
      host.url(`/cgi-bin/${script}`),
      { method: 'POST', headers: { 'Content-Length': String(bytes) }, agent: false },
      (res) => {
        res.on('data', (part) => {
          echoed += part.length;
        });
        res.on('end', () => {
          const elapsed = (performance.now() - started) / 1000;
          settle({ mbps: bytes / 1e6 / elapsed, echoed, status: res.statusCode });
        });
        res.on('close', () => res.complete || settle({ mbps: Number.NaN, echoed, note: 'reply cut short' }));
      },
    );
    req.on('error', (error) => settle({ mbps: Number.NaN, echoed, note: error.code ?? error.message }));
    let sent = 0;
    const pump = () => {
      while (sent < bytes && !settled) {
        const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** `script`s started per second by child_process.spawn alone, `inFlight` at a time, no HTTP. */
export async function spawnRate(script, inFlight, seconds) {
  const until = performance.now() + seconds * 1000;
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
  return done / seconds;
}
