// Every host the runner can start, by name. A host is one process serving the scripts under
// /cgi-bin on 127.0.0.1; `launch(ctx)` says how to start it: `{ command, args, env?, ready }`,
// where `ready` is a pattern whose first group is the port in the host's output, or
// `{ port }` for a host that prints nothing (the runner polls the port).
//
// A new host is one line here. Names the runner derives from these:
//   baseline        serve, built from the --baseline git ref
//   baseline:<X>    host X (a host.mjs host) built from the --baseline git ref
//   <X>@<line>      host X run by the Node binary given as --node <line>=<path>
import { join } from 'node:path';
import { INHERITED_NAMES } from './peers.mjs';

/** Gateway limits as the bench needs them: 50 MiB uploads, minutes-long streams, no log line per request. */
const CLI_ARGS = ['--port', '0', '--quiet', '--timeout', '2m', '--max-request-body', 'unlimited'];

/** A host of bench/host.mjs (this tree's, or the baseline's copy) run by the line's Node. */
const hostMjs = (variant) => (ctx) => ({
  command: ctx.node,
  args: [join(ctx.code, 'bench', 'host.mjs'), variant, ctx.scripts],
  ready: /^listening (\d+)/m,
});

/** `cgibridge serve` (this tree's, or the baseline's), with more flags and environment. */
const serve =
  (extra = [], env = {}) =>
  (ctx) => ({
    command: ctx.node,
    args: [join(ctx.code, 'packages', 'cli', 'bin', 'cgibridge.js'), 'serve', ctx.scripts, ...CLI_ARGS, ...extra],
    env,
    ready: /http:\/\/127\.0\.0\.1:(\d+)\//,
  });

/**
 * role: `floor` (the bare-spawn floors), `reference` (a framework around the floor; hello.sh
 * only), `ours` (cgibridge: compared to the peers and the floor), `peer` (Go, lighttpd),
 * `other` (other npm packages). `node`: runs on Node, so it has a baseline and other lines.
 */
export const CATALOG = {
  floor: { role: 'floor', node: true, launch: hostMjs('floor') },
  'floor+': { role: 'floor', node: true, launch: hostMjs('floor+') },
  'express(floor+)': { role: 'reference', node: true, launch: hostMjs('express(floor+)') },
  'koa(floor+)': { role: 'reference', node: true, launch: hostMjs('koa(floor+)') },
  cgibridge: { role: 'ours', node: true, launch: hostMjs('cgibridge') },
  express: { role: 'ours', node: true, launch: hostMjs('express') },
  koa: { role: 'ours', node: true, launch: hostMjs('koa') },
  serve: { role: 'ours', node: true, launch: serve() },
  'serve(warm)': { role: 'ours', node: true, launch: serve(['--warm', '.py']) },
  'serve(native)': { role: 'ours', node: true, launch: serve([], { CGIBRIDGE_SPAWNER: 'native' }) },
  'serve(child_process)': { role: 'ours', node: true, launch: serve([], { CGIBRIDGE_SPAWNER: 'child_process' }) },
  cgi: { role: 'other', node: true, launch: hostMjs('cgi') },
  'cgi-core': { role: 'other', node: true, launch: hostMjs('cgi-core') },
  go: {
    role: 'peer',
    launch: async (ctx) => ({
      command: await ctx.peers.go(),
      args: [ctx.scripts, INHERITED_NAMES.join(',')],
      ready: /^listening (\d+)/m,
    }),
  },
  lighttpd: {
    role: 'peer',
    launch: async (ctx) => {
      const { conf, port } = await ctx.peers.lighttpd();
      return { command: 'lighttpd', args: ['-D', '-f', conf], ready: { port } };
    },
  },
};

/** The hosts a plain `npm run bench` starts. */
export const DEFAULT_HOSTS = [
  'floor',
  'floor+',
  'express(floor+)',
  'koa(floor+)',
  'cgibridge',
  'express',
  'koa',
  'serve',
  'baseline',
  'cgi',
  'cgi-core',
  'go',
  'lighttpd',
];

/**
 * What a host name means: the catalog entry (`base`), which code (`current` or `baseline`)
 * and which Node line (`default` or a --node name) it runs.
 * @throws Error for a name that means nothing.
 */
export function resolveHost(name) {
  const at = name.lastIndexOf('@');
  const line = at > 0 ? name.slice(at + 1) : 'default';
  let base = at > 0 ? name.slice(0, at) : name;
  let code = 'current';
  if (base === 'baseline') [base, code] = ['serve', 'baseline'];
  else if (base.startsWith('baseline:')) [base, code] = [base.slice('baseline:'.length), 'baseline'];
  const entry = CATALOG[base];
  if (entry === undefined) throw new Error(`unknown host "${base}" (known: ${Object.keys(CATALOG).join(', ')})`);
  if (!entry.node && (code !== 'current' || line !== 'default')) throw new Error(`${base} does not run on Node`);
  return { name, base, entry, role: entry.role, code, line };
}
