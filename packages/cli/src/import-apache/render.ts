import type { Mount, MountOptions } from './mount.js';
import type { Translation } from './translate.js';

// The order keys are printed in: where, what, then limits.
const KEYS: ReadonlyArray<keyof MountOptions> = [
  'mountPath',
  'root',
  'script',
  'documentRoot',
  'index',
  'env',
  'inheritEnv',
  'passAuthorization',
  'timeout',
  'maxRequestBody',
  'runAs',
];

function ordered(options: MountOptions, omit: ReadonlySet<string> = new Set()): Array<[string, unknown]> {
  return KEYS.filter((key) => options[key] !== undefined && !omit.has(key)).map((key) => [key, options[key]]);
}

/** One mount's options as a cgibridge.config.json object (core option names; Infinity as "unlimited"). */
function configObject(mount: Mount): Record<string, unknown> {
  return Object.fromEntries(
    ordered(mount.options).map(([key, value]) => [key, value === Number.POSITIVE_INFINITY ? 'unlimited' : value]),
  );
}

/**
 * The `cgibridge.config.json` text: the options object when there is one mount,
 * `{ "mounts": [ ... ] }` (one options object per mount, in config order) when there are several.
 */
export function renderConfig(translation: Translation): string {
  const objects = translation.mounts.map(configObject);
  const config = objects.length === 1 ? objects[0] : { mounts: objects };
  return `${JSON.stringify(config, null, 2)}\n`;
}

function jsValue(value: unknown): string {
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(jsValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([key, inner]) => `${jsKey(key)}: ${jsValue(inner)}`);
    return `{ ${entries.join(', ')} }`;
  }
  return String(value);
}

function jsKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : jsValue(key);
}

function label(mount: Mount): string {
  const vhost =
    mount.vhost === undefined
      ? ''
      : `, vhost ${mount.vhost.serverName ?? mount.vhost.addresses} (${mount.vhost.where})`;
  const what =
    mount.origin === 'exec-cgi' ? `"${mount.source.text}" in <Directory ${mount.dir}>` : `"${mount.source.text}"`;
  return `${what} at ${mount.source.where}${vhost}`;
}

/** An Express app mounting each translated location with `@cgibridge/express`. */
export function renderExpress(translation: Translation): string {
  const lines = [
    "import express from 'express';",
    "import { cgi } from '@cgibridge/express';",
    '',
    'const app = express();',
  ];
  for (const mount of translation.mounts) {
    const options = ordered(mount.options, new Set(['mountPath']));
    const body = `{ ${options.map(([key, value]) => `${key}: ${jsValue(value)}`).join(', ')} }`;
    lines.push(`// ${label(mount)}`);
    if (mount.extensions !== undefined) {
      lines.push(
        `// Apache served files other than ${mount.extensions.join(' ')} here as static files: serve them before cgi(), skipping those extensions.`,
      );
    }
    const path = mount.options.mountPath;
    lines.push(path === '' ? `app.use(cgi(${body}));` : `app.use(${jsValue(path)}, cgi(${body}));`);
  }
  lines.push('app.listen(8080);');
  return `${lines.join('\n')}\n`;
}

/** The whole human report: config, Express snippet, per-mount notes, what was not translated, differences. */
export function renderReport(translation: Translation): string {
  const out: string[] = [];
  if (translation.mounts.length === 0) {
    out.push(
      '# No CGI locations found (no ScriptAlias, ScriptAliasMatch, or ExecCGI directory with a cgi-script handler).',
    );
  } else {
    out.push('# cgibridge.config.json', renderConfig(translation).trimEnd(), '');
    out.push('# Express (@cgibridge/express)', renderExpress(translation).trimEnd(), '');
    out.push('# Mounts');
    for (const mount of translation.mounts) {
      out.push(`${mount.options.mountPath || '/'}: from ${label(mount)}`);
      for (const note of mount.notes) out.push(`  - ${note}`);
    }
    out.push('');
  }
  out.push('# Not translated');
  if (translation.untranslated.length === 0) out.push('(nothing)');
  for (const item of translation.untranslated) out.push(`${item.where}: ${item.text}\n  -> ${item.why}`);
  out.push('', '# Behaviour differences');
  for (const difference of translation.differences) out.push(`- ${difference}`);
  return `${out.join('\n')}\n`;
}
