// Keep-alive request load from a separate process: wrk when it is installed, else autocannon.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));

function toMs(text) {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

/** A wrk script that sends `post` (`{ body, type }`) instead of a GET. */
function wrkPostScript(dir, post) {
  const path = join(dir, `post-${Buffer.from(post.body).toString('hex').slice(0, 16)}.lua`);
  const lua = (text) => JSON.stringify(text); // a JSON string is a valid Lua string for ASCII text
  writeFileSync(
    path,
    `wrk.method = "POST"\nwrk.body = ${lua(post.body)}\nwrk.headers["Content-Type"] = ${lua(post.type)}\n`,
  );
  return path;
}

function wrkLoad(url, connections, seconds, post, dir) {
  const args = ['-t', String(Math.min(connections, 2)), '-c', String(connections), '-d', `${seconds}s`, '--latency'];
  if (post) args.push('-s', wrkPostScript(dir, post));
  const out = spawnSync('wrk', [...args, url], { encoding: 'utf8' }).stdout;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99: toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    errors: Number(non2xx ?? 0) + Number(/Socket errors: .*?(\d+) timeout/.exec(out)?.[1] ?? 0),
  };
}

function autocannonLoad(url, connections, seconds, post) {
  const args = [AUTOCANNON, '-j', '-c', String(connections), '-d', String(seconds)];
  if (post) args.push('-m', 'POST', '-b', post.body, '-H', `content-type=${post.type}`);
  const out = spawnSync(process.execPath, [...args, url], { encoding: 'utf8' }).stdout;
  const r = JSON.parse(out);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

/**
 * The load generator the run uses: `wanted` ("wrk" or "autocannon") if it can be had.
 * `dir` is where wrk's POST scripts are written. Returns its name (with version) and
 * `load(url, connections, seconds, post?)` → `{ rps, p50, p99, errors }` (latencies in ms).
 */
export function loadGenerator(wanted, dir) {
  const wrk = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (wrk.error === undefined && wanted === 'wrk') {
    const version = (wrk.stdout || wrk.stderr)
      .split('\n')[0]
      .replace(/ Copyright.*/, '')
      .trim();
    return { name: version, load: (url, c, seconds, post) => wrkLoad(url, c, seconds, post, dir) };
  }
  return { name: `autocannon${wrk.error ? ' (wrk not found)' : ''}`, load: autocannonLoad };
}
