// bench/RESULTS.md: what ran where, the tables, the targets; the "## Notes" section of the
// previous file is kept, since it is written by hand.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { figures } from './figures.mjs';
import { versionOf } from './peers.mjs';
import { pairTable, peerTable, requestTables, transferTable } from './report.mjs';
import { SLOW_NOTE } from './rounds.mjs';
import { median } from './stats.mjs';
import { floorTargets, peerTargets } from './targets.mjs';

const HOSTS_TEXT =
  'Hosts: **floor** = node:http + spawn + pipe stdout, no parsing at all; **floor+** = the floor plus what a correct gateway cannot skip (stderr captured, own process group, a CGI-sized environment), still no parsing; **express(floor+)**/**koa(floor+)** = the floor+ handler mounted in Express/Koa (what the framework alone costs; hello.sh only); **cgibridge** = createCgiHandler on node:http; **express**/**koa** = the adapters; **serve** = the CLI, `cgibridge serve bench/scripts`; **baseline** = the CLI built from the baseline ref (**baseline:X** = host X from it); **X@line** = host X run by another Node binary (`--node line=path`); **cgi** = the npm package `cgi` in Express, one handler per script; **go** = Go’s net/http/cgi (bench/peers/go-cgi); **lighttpd** = lighttpd’s mod_cgi, scripts run directly, bodies streamed both ways (stream-request-body and stream-response-body 1).';

function packageVersion(name) {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(fileURLToPath(url), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function header(r) {
  const sh = spawnSync(
    'sh',
    ['-c', 'readlink -f /bin/sh; perl -e \'printf "%vd\\n", $^V\'; /usr/bin/python3 --version 2>&1'],
    {
      encoding: 'utf8',
    },
  )
    .stdout.trim()
    .split('\n');
  const s = r.settings;
  const peers = `${versionOf('go', ['version']) ?? 'no go'}; ${versionOf('lighttpd', ['-v']) ?? 'no lighttpd'}`;
  const lines = [...r.lines].map(([name, l]) => `${name} = ${l.path} (${l.version ?? 'does not run'})`).join(', ');
  const out = [
    '# cgibridge benchmark results',
    '',
    `Command: \`npm run bench${r.argv.length ? ` -- ${r.argv.join(' ')}` : ''}\`; run took ${r.seconds.toFixed(0)} s on ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}; Node ${process.version}${lines ? `; other Node lines: ${lines}` : ''}.`,
    `Load: ${r.generator}, keep-alive, ${s.warmup} s warm-up under load per host, then ${s.duration} s per measurement, ${s.rounds} round(s), each starting with the next host (medians, min–max in brackets).`,
    `Scripts: /bin/sh = ${sh[0]}, perl ${sh[1]}, ${sh[2]} (/usr/bin/python3, pinned in the shebang). Peers: ${peers}. Versions: express ${packageVersion('express')}, koa ${packageVersion('koa')}, cgi ${packageVersion('cgi')}, autocannon ${packageVersion('autocannon')}.`,
  ];
  if (r.baseline) {
    out.push(
      r.baseline.error
        ? `Baseline: not built (${r.baseline.error}).`
        : `Baseline: ${r.baseline.subject} (${r.baseline.commit}), built in a temporary directory with this tree's TypeScript (and node-gyp for its addon, when it has one).`,
    );
  }
  const missing = r.hosts.filter((h) => h.unavailable);
  if (missing.length) out.push(`Not measured: ${missing.map((h) => `${h.name} (${h.unavailable})`).join('; ')}.`);
  return [...out, '', HOSTS_TEXT, ''];
}

/** [a, b] pairs to print as a / b: current over baseline, another Node line over the default. */
function variantPairs(v) {
  const named = (spec, code, line) => {
    const base = code === 'baseline' ? (spec.base === 'serve' ? 'baseline' : `baseline:${spec.base}`) : spec.base;
    return line === 'default' ? base : `${base}@${line}`;
  };
  const baseline = [];
  const lines = [];
  for (const { spec } of v.live) {
    if (spec.code === 'baseline') baseline.push([named(spec, 'current', spec.line), spec.name]);
    else if (spec.line !== 'default') lines.push([spec.name, named(spec, 'current', 'default')]);
  }
  const present = ([a, b]) => v.has(a) && v.has(b);
  return { baseline: baseline.filter(present), lines: lines.filter(present) };
}

/** Writes the report to `r.output` and prints it. */
export function writeResults(r) {
  const perHost = r.results.perHost;
  const v = {
    live: r.hosts.filter((h) => !h.unavailable),
    has: (host) => perHost.has(host),
    get: (host, key) => perHost.get(host)?.[key] ?? [],
    med: (host, key) => median(perHost.get(host)?.[key] ?? []),
  };
  const s = r.settings;
  const list = figures(s.streamBytes / 2 ** 20, s.uploadBytes / 2 ** 20);
  const out = header(r);
  const spawnOnly = r.results.spawnOnly;
  if (spawnOnly) {
    out.push(
      '## Spawn alone (no HTTP)',
      '',
      `child_process.spawn of hello.sh: ${spawnOnly.c1.toFixed(0)} scripts/s one at a time, ${spawnOnly.c8.toFixed(0)} scripts/s with 8 in flight.`,
      '',
    );
  }
  if (s.groups.includes('hello')) out.push('## Requests', '', ...requestTables(v, s.scriptKeys));
  if (s.groups.includes('stream') || s.groups.includes('upload')) {
    out.push('## Transfers and memory', '', ...transferTable(v, s.streamBytes / 2 ** 20, SLOW_NOTE));
  }
  out.push(
    '## Against the peers',
    '',
    'Each cell: the figure, then against Go (G), lighttpd (L) and the better of the two: a percentage for rates, a difference for latencies (ms) and memory (MiB).',
    '',
    ...peerTable(v, list),
    '',
  );
  const pairs = variantPairs(v);
  if (pairs.baseline.length)
    out.push('## No regression: current / baseline', '', ...pairTable(v, pairs.baseline, list), '');
  if (pairs.lines.length) out.push('## Node lines: other line / default', '', ...pairTable(v, pairs.lines, list), '');
  out.push('## Targets against the peers', '', ...peerTargets(v).map((t) => `- ${t}`), '');
  const floor = floorTargets(v);
  if (floor.length) out.push('## Targets against the floor (issue 5)', '', ...floor.map((t) => `- ${t}`), '');

  let notes = '';
  try {
    const previous = readFileSync(r.output, 'utf8');
    notes = previous.includes('## Notes') ? previous.slice(previous.indexOf('## Notes')) : '';
  } catch {}
  const report = `${out.join('\n')}\n${notes}`;
  writeFileSync(r.output, report.endsWith('\n') ? report : `${report}\n`);
  console.log(out.join('\n'));
  r.log(`written to ${r.output}`);
}
