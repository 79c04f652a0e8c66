import { readFileSync } from 'node:fs';
import type { Directive, Untranslated } from './evaluate.js';
import type { Mount, MountOptions } from './mount.js';
import { type Coverage, coverage, describeScope, specificity } from './scope.js';

/** Directives that become options, by lower-cased name. */
const SETTINGS = new Set([
  'documentroot',
  'directoryindex',
  'setenv',
  'passenv',
  'unsetenv',
  'cgipassauth',
  'timeout',
  'cgiscripttimeout',
  'cgidscripttimeout',
  'limitrequestbody',
  'user',
  'group',
  'suexecusergroup',
  'assignuserid',
]);

// Index names that can be scripts; index.html in a CGI directory is a page, not a program.
const SCRIPT_INDEX = /(\.(cgi|pl|py|sh|rb|fcgi)|^[^.]+)$/i;

function table(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}

/**
 * `User`+`Group` as the `runAs` option: `NAME` when the group is the user's own primary group
 * (or has the same name), else `UID:GID` looked up on this machine.
 */
export function userOption(user: string, group: string | undefined): { value: string; note?: string } {
  if (group === undefined || group === user) return { value: user };
  const passwd = table('/etc/passwd').find((fields) => fields[0] === user);
  const groupEntry = table('/etc/group').find((fields) => fields[0] === group);
  if (passwd !== undefined && groupEntry !== undefined) {
    if (passwd[3] === groupEntry[2]) return { value: user };
    return {
      value: `${passwd[2]}:${groupEntry[2]}`,
      note: `User ${user} with Group ${group} (not its primary group) written as UID:GID, looked up on this machine`,
    };
  }
  return {
    value: user,
    note: `Group ${group}: not expressible with "runAs": NAME (its primary group is used); use UID:GID`,
  };
}

function seconds(text: string): number | undefined {
  const m = /^(\d+)(ms|s)?$/i.exec(text);
  if (m === null) return undefined;
  return m[2]?.toLowerCase() === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

/** What a mount's settings carry between directives. */
interface MountState {
  user?: string;
  group?: string;
  /** A CGIScriptTimeout was applied: a plain Timeout no longer counts. */
  cgiTimeout?: boolean;
}

/** Applies one setting directive to a mount's options; returns a note when it needs one. */
function apply(directive: Directive, mount: Mount, state: MountState): string | undefined {
  const options: MountOptions = mount.options;
  const [first = '', second] = directive.args;
  switch (directive.name) {
    case 'documentroot':
      options.documentRoot = first.replace(/(.)\/+$/, '$1');
      return undefined;
    case 'directoryindex': {
      if (first.toLowerCase() === 'disabled') {
        delete options.index;
        return undefined;
      }
      // httpd 2.4 applies it in ScriptAlias directories too (DirectoryCheckHandler Off); only
      // names that can be scripts are kept: an index.html in a CGI directory is a page.
      const names = directive.args.filter((name) => !name.includes('/') && SCRIPT_INDEX.test(name));
      if (names.length > 0) options.index = names;
      return undefined;
    }
    case 'setenv':
      options.env = { ...options.env, [first]: second ?? '' };
      return undefined;
    case 'passenv':
      options.inheritEnv = [...new Set([...(options.inheritEnv ?? []), ...directive.args])];
      return undefined;
    case 'unsetenv':
      for (const name of directive.args) {
        if (options.env !== undefined) delete options.env[name];
        options.inheritEnv = options.inheritEnv?.filter((inherited) => inherited !== name);
      }
      return undefined;
    case 'cgipassauth':
      options.passAuthorization = first.toLowerCase() === 'on';
      return undefined;
    case 'timeout':
    case 'cgiscripttimeout':
    case 'cgidscripttimeout': {
      const ms = seconds(first);
      // The CGI-specific timeout wins over the general one, whatever the order.
      if (ms !== undefined && (directive.name !== 'timeout' || state.cgiTimeout !== true)) options.timeout = ms;
      if (directive.name !== 'timeout') state.cgiTimeout = true;
      return ms === undefined ? `${directive.written} ${first}: not a number of seconds` : undefined;
    }
    case 'limitrequestbody': {
      const bytes = Number(first);
      if (!/^\d+$/.test(first)) return `${directive.written} ${first}: not a byte count`;
      options.maxRequestBody = bytes === 0 ? Number.POSITIVE_INFINITY : bytes;
      return undefined;
    }
    case 'user':
    case 'group':
      if (directive.name === 'user') state.user = first;
      else state.group = first;
      return directive.scope.vhost === undefined
        ? undefined
        : `${directive.written} inside <VirtualHost>: httpd accepts it only server-wide (per vhost: SuexecUserGroup or mpm-itk's AssignUserID); taken as this vhost's user`;
    default:
      // SuexecUserGroup / AssignUserID: the vhost's (or directory's) own user and group.
      state.user = first;
      state.group = second;
      return `${directive.written}: scripts ran as ${first}${second ? `:${second}` : ''}${directive.name === 'suexecusergroup' ? ' through suexec, which also refused scripts writable by others or outside its docroot' : ''}`;
  }
}

/** Why a setting that covers part of a mount is not applied to it. */
function partly(directive: Directive, mount: Mount): string {
  const path = mount.options.mountPath || '/';
  const { vhost, directory, location, files } = directive.scope;
  if (
    vhost !== undefined &&
    mount.vhost === undefined &&
    directory === undefined &&
    location === undefined &&
    files === undefined
  ) {
    return `applies only in vhost ${vhost.serverName ?? vhost.addresses}, while the mount ${path} (server-wide ${mount.source.written}) serves every vhost: add it to the mount if that vhost is the one you migrate`;
  }
  return `applies to ${describeScope(directive.scope)}, only part of the mount ${path}: options are per mount, so make a mount of its own for that part or handle it in the script`;
}

/**
 * Fills each mount's options from the setting directives that cover it, the less specific
 * first (server, vhost, directory, location: as httpd merges), and lists the settings that
 * cover only part of a mount, which a per-mount option cannot express.
 */
export function applySettings(directives: readonly Directive[], mounts: readonly Mount[]): Untranslated[] {
  const untranslated: Untranslated[] = [];
  const settings = directives
    .map((directive, order) => ({ directive, order }))
    .filter(({ directive }) => SETTINGS.has(directive.name))
    .sort((a, b) => specificity(a.directive.scope) - specificity(b.directive.scope) || a.order - b.order);
  for (const mount of mounts) {
    const state: MountState = {};
    for (const { directive } of settings) {
      const covered: Coverage = coverage(directive.scope, mount);
      if (covered === 'none') continue;
      if (covered === 'part') {
        untranslated.push({ where: directive.where, text: directive.text, why: partly(directive, mount) });
        continue;
      }
      const note = apply(directive, mount, state);
      if (note !== undefined) mount.notes.push(`${directive.where}: ${note}`);
    }
    if (state.user !== undefined) {
      if (state.user.includes('${')) {
        mount.notes.push(
          `User ${state.user}: an undefined variable (Debian sets APACHE_RUN_USER in /etc/apache2/envvars, usually www-data); give it with --define NAME=VALUE`,
        );
      } else {
        const { value, note } = userOption(state.user, state.group);
        mount.options.runAs = value;
        if (note !== undefined) mount.notes.push(note);
      }
    }
  }
  return untranslated;
}
