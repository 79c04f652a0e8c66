#!/usr/bin/env node
// cgibridge benchmark: every host serves bench/scripts on loopback in its own process: the
// bare-spawn floors, cgibridge (handler, adapters, the CLI), the same code from a git ref
// (baseline), other Node binaries, and the peers users judge us against (Go's net/http/cgi,
// lighttpd's mod_cgi). Load comes from an external generator (wrk, else autocannon); figures
// are medians over rounds, with their spread, and ratios measured in the same run.
//
//   npm run bench [-- --hosts serve,go,lighttpd --only hello --rounds 3 --node node24=/path/to/node]
// The options are in bench/README.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBaseline, defaultBaselineRef } from './baseline.mjs';
import { SCRIPTS } from './figures.mjs';
import { DEFAULT_HOSTS, resolveHost } from './host-catalog.mjs';
import { startHost } from './host-process.mjs';
import { loadGenerator } from './load.mjs';
import { buildGoPeer, lighttpdConfig, versionOf } from './peers.mjs';
import { runRounds } from './rounds.mjs';
import { writeResults } from './write-results.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const REPO = here('..');
const log = (...args) => console.error('bench:', ...args);

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: DEFAULT_HOSTS.join(',') },
    node: { type: 'string', multiple: true, default: [] },
    'node-hosts': { type: 'string', default: 'serve' },
    baseline: { type: 'string' },
    only: { type: 'string', default: 'spawn,hello,stream,upload' },
    scripts: { type: 'string', default: Object.keys(SCRIPTS).join(',') },
    duration: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    'stream-mib': { type: 'string', default: '100' },
    'upload-mib': { type: 'string', default: '50' },
    output: { type: 'string', default: here('./RESULTS.md') },
    generator: { type: 'string', default: 'wrk' },
    'skip-install': { type: 'boolean', default: false },
    'keep-temp': { type: 'boolean', default: false },
  },
});
const settings = {
  groups: values.only.split(','),
  scriptKeys: values.scripts.split(',').filter((key) => key in SCRIPTS),
  duration: Number(values.duration),
  warmup: Number(values.warmup),
  rounds: Number(values.rounds),
  streamBytes: Number(values['stream-mib']) * 1024 * 1024,
  uploadBytes: Number(values['upload-mib']) * 1024 * 1024,
  scripts: here('./scripts'),
};

if (!values['skip-install'])
  spawnSync('bash', [here('./ensure-peers.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
const tmp = mkdtempSync(join(tmpdir(), 'cgibridge-bench-'));
const generator = loadGenerator(values.generator, tmp);

/** --node name=path lines, each with the version its binary reports. */
const lines = new Map(
  values.node.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`--node must look like name=/path/to/node (got "${item}")`);
    const path = item.slice(eq + 1);
    return [item.slice(0, eq), { path, version: versionOf(path, ['--version']) }];
  }),
);
const names = values.hosts.split(',').filter(Boolean);
for (const line of lines.keys()) {
  for (const host of values['node-hosts'].split(',').filter(Boolean)) {
    if (!names.includes(`${host}@${line}`)) names.push(`${host}@${line}`);
  }
}

const once = (make) => {
  let made;
  return () => {
    made ??= Promise.resolve().then(make);
    return made;
  };
};
const baselineRef = values.baseline ?? defaultBaselineRef(REPO);
const baseline = once(() => buildBaseline(REPO, baselineRef, tmp));
const peers = { go: once(() => buildGoPeer(tmp)), lighttpd: () => lighttpdConfig(tmp, settings.scripts) };

/** Where and with which Node a host runs; throws (host unavailable) when that cannot be had. */
async function context(spec) {
  const line = lines.get(spec.line);
  if (spec.line !== 'default' && line?.version === undefined) {
    throw new Error(line ? `${line.path} does not run` : `no --node ${spec.line}=<path>`);
  }
  const code = spec.code === 'baseline' ? (await baseline()).dir : REPO;
  return { node: line?.path ?? process.execPath, code, scripts: settings.scripts, peers };
}

const runStarted = Date.now();
const hosts = [];
const stopAll = () => Promise.all(hosts.filter((h) => !h.unavailable).map((h) => h.stop()));
const cleanUp = () => values['keep-temp'] || rmSync(tmp, { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () =>
    stopAll()
      .then(cleanUp)
      .finally(() => process.exit(130)),
  );
}
for (const name of names) {
  let spec;
  try {
    spec = resolveHost(name);
  } catch (error) {
    hosts.push({ name, unavailable: error.message });
    continue;
  }
  const host = await startHost(spec, context);
  if (host.unavailable) log(`${name}: unavailable (${host.unavailable})`);
  else log(`${name}: listening at ${host.url('/cgi-bin/')}`);
  hosts.push(host);
}
const live = hosts.filter((h) => !h.unavailable);
const results = await runRounds(live, settings, generator, log);
await stopAll();
cleanUp();

const baselineWanted = hosts.some((h) => h.spec?.code === 'baseline');
writeResults({
  output: values.output,
  argv: process.argv.slice(2),
  seconds: (Date.now() - runStarted) / 1000,
  settings,
  generator: generator.name,
  hosts,
  results,
  lines,
  baseline: baselineWanted
    ? await baseline().then(
        (b) => b,
        (error) => ({ error: error.message }),
      )
    : undefined,
  log,
});
