import type { Directive, Untranslated } from './evaluate.js';
import type { Mount } from './mount.js';
import { coverage, describeScope } from './scope.js';

const REWRITE =
  'mod_rewrite: route those URLs in the app instead (Express routes and redirects), and check whether a rule sends URLs to scripts';
const PER_REQUEST_ENV =
  'per-request variables: give cgi() an env function instead, e.g. env: (req) => ({ ... }) built from the request';
const ACCESS =
  "access control: enforce it in the app before cgi() and hand the identity to the script with the adapter's user(req) option (REMOTE_USER, AUTH_TYPE)";

/** CGI-relevant directives with no option, and what to do instead. `anywhere`: report even outside CGI mounts. */
const UNSUPPORTED: ReadonlyMap<string, { readonly why: string; readonly anywhere?: boolean }> = new Map([
  ['rewriteengine', { why: REWRITE, anywhere: true }],
  ['rewriterule', { why: REWRITE, anywhere: true }],
  ['rewritecond', { why: REWRITE, anywhere: true }],
  ['rewritebase', { why: REWRITE, anywhere: true }],
  ['rewritemap', { why: REWRITE, anywhere: true }],
  [
    'scriptlog',
    { why: 'cgibridge logs what scripts write to stderr through its logger; there is no separate script log' },
  ],
  ['scriptloglength', { why: 'no script log: stderr goes to the logger' }],
  ['scriptlogbuffer', { why: 'no script log: stderr goes to the logger' }],
  ['scriptsock', { why: "mod_cgid's daemon socket: cgibridge spawns scripts itself" }],
  [
    'scriptinterpretersource',
    { why: 'Windows interpreter lookup: map extensions with the interpreters option instead' },
  ],
  ['cgivar', { why: 'CGIVar: cgibridge sets REQUEST_URI to the original request-target and does not change it' }],
  [
    'action',
    {
      why: 'mod_actions runs a handler program for a type with PATH_TRANSLATED; if the handler takes the file as an argument, map the extension with interpreters',
    },
  ],
  ['setenvif', { why: PER_REQUEST_ENV }],
  ['setenvifnocase', { why: PER_REQUEST_ENV }],
  ['setenvifexpr', { why: PER_REQUEST_ENV }],
  ['browsermatch', { why: PER_REQUEST_ENV }],
  ['browsermatchnocase', { why: PER_REQUEST_ENV }],
  ['header', { why: 'response header edits: do them in the app (a middleware before cgi() that sets them)' }],
  ['requestheader', { why: 'request header edits: do them in the app before cgi()' }],
  ['authtype', { why: ACCESS }],
  ['authname', { why: ACCESS }],
  ['authuserfile', { why: ACCESS }],
  ['authgroupfile', { why: ACCESS }],
  ['authbasicprovider', { why: ACCESS }],
  ['fcgidwrapper', { why: 'FastCGI (mod_fcgid): cgibridge runs CGI, one process per request' }],
  [
    'perlresponsehandler',
    {
      why: 'mod_perl kept scripts loaded between requests; as CGI each request starts perl anew (slower start, no shared state)',
    },
  ],
]);

function sslOptions(directive: Directive): string | undefined {
  if (!directive.args.some((arg) => /StdEnvVars|ExportCertData/i.test(arg))) return undefined;
  return 'SSL_* variables are not set (TLS ends in Node or a proxy; cgibridge sets HTTPS=on): pass the ones scripts need with an env function, e.g. from req.socket.getPeerCertificate()';
}

function requireReason(directive: Directive): string | undefined {
  // "all granted" opens a directory up; "all denied" is the usual default for / that CGI directories override.
  return /^all\s+(granted|denied)$/i.test(directive.args.join(' ')) ? undefined : ACCESS;
}

function handler(directive: Directive): string | undefined {
  const name = directive.args[0] ?? '';
  if (/^fcgid-script$/i.test(name)) return 'FastCGI (mod_fcgid): cgibridge runs CGI, one process per request';
  if (
    directive.name === 'sethandler' &&
    name.toLowerCase() === 'cgi-script' &&
    directive.scope.location !== undefined
  ) {
    return "SetHandler cgi-script in a <Location>: give the directory behind that URL as a mount root (app.use('<url>', cgi({ root })))";
  }
  return undefined;
}

/**
 * Lists the CGI-relevant directives that have no cgibridge option, each with what to do
 * instead: those covering a mount (mod_rewrite anywhere), with their section named.
 */
export function unsupported(directives: readonly Directive[], mounts: readonly Mount[]): Untranslated[] {
  const out: Untranslated[] = [];
  for (const directive of directives) {
    const known = UNSUPPORTED.get(directive.name);
    const why =
      known?.why ??
      (directive.name === 'ssloptions'
        ? sslOptions(directive)
        : directive.name === 'require'
          ? requireReason(directive)
          : directive.name === 'sethandler' || directive.name === 'addhandler'
            ? handler(directive)
            : undefined);
    if (why === undefined) continue;
    const covers = mounts.some((mount) => coverage(directive.scope, mount) !== 'none');
    if (!covers && known?.anywhere !== true && directive.name !== 'sethandler') continue;
    const where =
      directive.scope.vhost === undefined
        ? ''
        : ` (in ${describeScope({ ...directive.scope, directory: undefined, location: undefined, files: undefined })})`;
    out.push({ where: directive.where, text: directive.text, why: `${why}${where}` });
  }
  return out;
}
