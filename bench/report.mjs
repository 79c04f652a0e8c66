// The tables of bench/RESULTS.md, from a run's results (`v`: `live` hosts, `get(host, key)` the
// values of the rounds, `med(host, key)` their median, `has(host)`).
import { better, digitsOf, SCRIPTS } from './figures.mjs';
import { delta, fmt, pct, spread } from './stats.mjs';

const row = (cells) => `| ${cells.join(' | ')} |`;
const rule = (n) => row(['---', ...Array.from({ length: n - 1 }, () => '---:')]);

/**
 * One table per request script: c1 and c8 with the floor ratios, latencies, errors, and at c8
 * the CPU each request cost the server and its script.
 */
export function requestTables(v, scriptKeys) {
  const out = [];
  for (const key of scriptKeys) {
    const hosts = v.live.filter((h) => v.get(h.name, `${key} c8 rps`).length > 0);
    if (hosts.length === 0) continue;
    out.push(`### ${SCRIPTS[key].label}`, '');
    const head = ['host'];
    for (const c of [1, 8]) head.push(`c${c} req/s`, 'vs floor', 'p50 ms', 'p99 ms');
    head.push('c8 server CPU µs/req', 'c8 script CPU µs/req');
    out.push(row([...head, 'errors']), rule(head.length + 1));
    for (const { name: n } of hosts) {
      const cells = [n];
      for (const c of [1, 8]) {
        const k = `${key} c${c}`;
        cells.push(
          `${fmt(v.med(n, `${k} rps`))}${spread(v.get(n, `${k} rps`))}`,
          pct(v.med(n, `${k} rps`), v.med('floor', `${k} rps`)),
          `${fmt(v.med(n, `${k} p50`), 2)}${spread(v.get(n, `${k} p50`), 2)}`,
          fmt(v.med(n, `${k} p99`), 2),
        );
      }
      cells.push(fmt(v.med(n, `${key} c8 cpu`)), fmt(v.med(n, `${key} c8 script cpu`)));
      const errors = [1, 8].flatMap((c) => v.get(n, `${key} c${c} errors`)).reduce((a, b) => a + b, 0);
      out.push(row([...cells, String(errors)]));
    }
    out.push('');
  }
  return out;
}

/** Transfers and memory per host, with the floor ratios. */
export function transferTable(v, streamMiB, slowNote) {
  const hosts = v.live.filter((h) => h.spec.role !== 'reference');
  const out = [
    row([
      'host',
      `${streamMiB} MiB response MB/s`,
      'vs floor',
      'RSS growth, fast client (MiB)',
      'RSS growth, slow client (MiB)',
      'upload MB/s',
      'vs floor',
      'full-duplex echo MB/s',
      'vs floor',
      'idle RSS at start (MiB)',
      'idle RSS after (MiB)',
    ]),
    rule(11),
  ];
  for (const { name: n } of hosts) {
    const figure = (key, digits = 0) => `${fmt(v.med(n, key), digits)}${spread(v.get(n, key), digits)}`;
    const notes = (key) => [...new Set(v.get(n, key))].join('; ');
    const note = (key) => (notes(key) ? ` (${notes(key)})` : '');
    out.push(
      row([
        n,
        `${figure('stream mbps')}${note('stream note')}`,
        pct(v.med(n, 'stream mbps'), v.med('floor', 'stream mbps')),
        figure('stream growth', 1),
        figure('slow growth', 1),
        `${figure('count mbps')}${note('count note')}`,
        pct(v.med(n, 'count mbps'), v.med('floor', 'count mbps')),
        `${figure('echo mbps')}${note('echo note')}`,
        pct(v.med(n, 'echo mbps'), v.med('floor', 'echo mbps')),
        fmt(v.med(n, 'idle rss'), 1),
        fmt(v.med(n, 'idle rss after'), 1),
      ]),
    );
  }
  return [...out, '', slowNote, ''];
}

/** `x` against `of` as the figure's kind compares: a percentage, or a signed difference. */
const against = (kind, x, of) => (kind === 'rate' ? pct(x, of) : delta(x, of, digitsOf(kind)));

/** Each of our hosts against Go, lighttpd and the better of the two, figure by figure. */
export function peerTable(v, figureList) {
  if (!v.has('go') && !v.has('lighttpd')) return ['No peer ran (see "Not measured" above).'];
  const ours = v.live.filter((h) => h.spec.role === 'ours').map((h) => h.name);
  const out = [row(['figure', 'go', 'lighttpd', ...ours]), rule(3 + ours.length)];
  for (const { key, label, kind } of figureList) {
    const [g, l] = [v.med('go', key), v.med('lighttpd', key)];
    if (![g, l, ...ours.map((n) => v.med(n, key))].some(Number.isFinite)) continue;
    const b = better(kind, g, l);
    const d = digitsOf(kind);
    const cells = ours.map((n) => {
      const x = v.med(n, key);
      if (!Number.isFinite(x)) return 'n/a';
      const parts = [
        ['G', g],
        ['L', l],
        ['best', b],
      ].filter(([, peer]) => Number.isFinite(peer));
      return [fmt(x, d), ...parts.map(([p, peer]) => `${p} ${against(kind, x, peer)}`)].join(' · ');
    });
    out.push(row([label, fmt(g, d), fmt(l, d), ...cells]));
  }
  return out;
}

/** `a / b` per figure for each `[a, b]` host pair: "a-value / b-value = ratio". */
export function pairTable(v, pairs, figureList) {
  const out = [row(['figure', ...pairs.map(([a, b]) => `${a} / ${b}`)]), rule(1 + pairs.length)];
  for (const { key, label, kind } of figureList) {
    if (!pairs.some(([a, b]) => Number.isFinite(v.med(a, key)) || Number.isFinite(v.med(b, key)))) continue;
    const d = digitsOf(kind);
    const cells = pairs.map(([a, b]) => {
      const [x, y] = [v.med(a, key), v.med(b, key)];
      return `${fmt(x, d)} / ${fmt(y, d)} = ${pct(x, y)}`;
    });
    out.push(row([label, ...cells]));
  }
  return out;
}
