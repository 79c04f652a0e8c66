// The targets the run judges, each from figures measured in the same run. Judged here only,
// never in tests: on a shared two-core machine a timing is evidence, not a pass/fail fact.
import { better } from './figures.mjs';
import { fmt } from './stats.mjs';

/** Idle RSS differs by about a MiB between two starts of the same code. */
const RSS_NOISE_MIB = 2;

const percent = (x) => `${(x * 100).toFixed(0)}%`;
const signed = (x, digits) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

/** "<what>: <figures> → met/missed", or "not judged" when a figure is missing. */
function target(what, values, text, ok) {
  if (!values.every(Number.isFinite)) return `${what}: not judged (a host or figure is missing)`;
  return `${what}: ${text()} → ${ok() ? 'met' : 'missed'}`;
}

/** Met when `x` is at least `min` times `of` (rates). */
const atLeast = (what, x, of, min, unit) =>
  target(
    what,
    [x, of],
    () => `${fmt(x)} vs ${fmt(of)} ${unit} = ${percent(x / of)}`,
    () => x / of >= min,
  );

/** Met when `x` exceeds `of` by at most `max` (latencies in ms, memory in MiB). */
const atMostAbove = (what, x, of, max, unit, digits) =>
  target(
    what,
    [x, of],
    () => `${fmt(x, digits)} vs ${fmt(of, digits)} ${unit} (${signed(x - of, digits)})`,
    () => x - of <= max,
  );

/** Met when `x` is at most `max` (memory growth in MiB). */
const atMost = (what, x, max, unit) =>
  target(
    what,
    [x],
    () => `${fmt(x, 1)} ${unit}`,
    () => x <= max,
  );

/** The cgibridge CLI (`serve`) and the Express adapter against Go's net/http/cgi and lighttpd's mod_cgi. */
export function peerTargets(v) {
  const m = (host, key) => v.med(host, key);
  const best = (key) => better('rate', m('go', key), m('lighttpd', key));
  const out = [];
  for (const [key, file] of [
    ['sh', 'hello.sh'],
    ['pl', 'hello.pl'],
  ]) {
    const rps = `${key} c8 rps`;
    const p50 = `${key} c1 p50`;
    out.push(
      atLeast(
        `${file} c8, serve >= 80% of the better of Go and lighttpd (aim 100%)`,
        m('serve', rps),
        best(rps),
        0.8,
        'req/s',
      ),
      atMostAbove(`${file} c1 p50, serve within 0.3 ms of Go's`, m('serve', p50), m('go', p50), 0.3, 'ms', 2),
    );
  }
  out.push(
    atLeast(
      'hello.sh c8, the Express adapter >= 90% of serve',
      m('express', 'sh c8 rps'),
      m('serve', 'sh c8 rps'),
      0.9,
      'req/s',
    ),
  );
  for (const [key, what] of [
    ['stream mbps', 'response'],
    ['count mbps', 'upload'],
    ['echo mbps', 'full-duplex echo'],
  ]) {
    out.push(atLeast(`${what}, serve >= 90% of lighttpd's MB/s`, m('serve', key), m('lighttpd', key), 0.9, 'MB/s'));
  }
  out.push(atMost('RSS growth of serve during a fast download <= 8 MB', m('serve', 'stream growth'), 8, 'MiB'));
  for (const [key, when] of [
    ['idle rss', 'at start'],
    ['idle rss after', 'after the run'],
  ]) {
    const what = `idle RSS ${when}, serve no higher than the baseline (${RSS_NOISE_MIB} MiB allowed for noise)`;
    out.push(atMostAbove(what, m('serve', key), m('baseline', key), RSS_NOISE_MIB, 'MiB', 1));
  }
  return [...out, ...warmTargets(v)];
}

/** Targets for the warm Python host (serve --warm .py) once it exists: pending until then. */
function warmTargets(v) {
  const m = (host, key) => v.med(host, key);
  if (!v.has('serve(warm)')) {
    return ['warm Python (serve(warm) against serve and every peer): pending, host serve(warm) not run'];
  }
  return [
    ['py c8 rps', 'hello.py', 2.5],
    ['form c8 rps', 'form.py POST', 4],
  ].flatMap(([key, file, factor]) => {
    const peers = Math.max(...['go', 'lighttpd'].map((p) => m(p, key)).filter(Number.isFinite));
    return [
      atLeast(`${file} c8, serve(warm) >= ${factor}x serve`, m('serve(warm)', key), m('serve', key), factor, 'req/s'),
      atLeast(`${file} c8, serve(warm) ahead of every peer`, m('serve(warm)', key), peers, 1, 'req/s'),
    ];
  });
}

/** The targets of issue 5: the handler and adapters against the bare-spawn floor. */
export function floorTargets(v) {
  if (!v.has('cgibridge') || !v.has('floor')) return [];
  const m = (host, key) => v.med(host, key);
  const out = [
    atLeast(
      'hello.sh c8, cgibridge >= 90% of the floor',
      m('cgibridge', 'sh c8 rps'),
      m('floor', 'sh c8 rps'),
      0.9,
      'req/s',
    ),
  ];
  for (const adapter of ['express', 'koa']) {
    const own = m(`${adapter}(floor+)`, 'sh c8 rps') / m('floor+', 'sh c8 rps');
    const context = Number.isFinite(own) ? ` (${adapter} itself, around floor+: ${percent(own)} of floor+)` : '';
    out.push(
      atLeast(
        `hello.sh c8, ${adapter} within 5% of the plain handler`,
        m(adapter, 'sh c8 rps'),
        m('cgibridge', 'sh c8 rps'),
        0.95,
        'req/s',
      ) + context,
    );
  }
  out.push(
    atMostAbove(
      'hello.sh c1 p50, cgibridge no more than 0.3 ms above the floor',
      m('cgibridge', 'sh c1 p50'),
      m('floor', 'sh c1 p50'),
      0.3,
      'ms',
      2,
    ),
    atLeast(
      "response, cgibridge >= 80% of the floor's MB/s",
      m('cgibridge', 'stream mbps'),
      m('floor', 'stream mbps'),
      0.8,
      'MB/s',
    ),
    atMost('response, RSS growth <= 8 MB with the slow client', m('cgibridge', 'slow growth'), 8, 'MiB'),
    atLeast(
      "full-duplex echo, cgibridge >= 80% of the floor's MB/s",
      m('cgibridge', 'echo mbps'),
      m('floor', 'echo mbps'),
      0.8,
      'MB/s',
    ),
  );
  return out;
}
