/**
 * Standard-library modules newer Pythons no longer have, which legacy CGI scripts import:
 * PEP 594's "dead batteries" (removed in 3.13, `cgi` and `cgitb` among them), the 3.12
 * removals (PEP 632's `distutils`, `imp`, `asyncore`...), and Python 2 names that Python 3
 * renamed. Pure data and a lookup, shared by the gateway's messages and `cgibridge doctor`.
 */

/** A module a Python version dropped, and what replaces it. */
export interface PythonRemovedModule {
  readonly module: string;
  /** The first version without it, `[major, minor]`. */
  readonly removedIn: readonly [number, number];
  /** Where the removal was decided, e.g. `PEP 594`. */
  readonly reference: string;
  /** What to use instead. */
  readonly replacement: string;
}

const LEGACY_CGI = 'pip install legacy-cgi for a drop-in copy of cgi and cgitb';
const PEP594: ReadonlyArray<readonly [string, string]> = [
  [
    'cgi',
    `parse QUERY_STRING and urlencoded bodies with urllib.parse.parse_qs, multipart bodies with email.parser.BytesParser (email.message) or the multipart package; html.escape for cgi.escape; or ${LEGACY_CGI}`,
  ],
  ['cgitb', `log tracebacks with logging or traceback (sys.excepthook) and enable faulthandler; or ${LEGACY_CGI}`],
  ['crypt', 'hashlib, or the bcrypt or passlib packages (legacycrypt is a drop-in copy)'],
  ['pipes', 'shlex.quote and subprocess'],
  ['telnetlib', 'a third-party client such as telnetlib3'],
  ['imghdr', 'the filetype or puremagic packages, or Pillow'],
  ['sndhdr', 'the filetype or puremagic packages'],
  ['mailcap', 'mimetypes'],
  ['nntplib', 'a third-party NNTP client'],
  ['uu', 'base64 or binascii'],
  ['xdrlib', 'struct'],
  ['spwd', 'PAM (e.g. the python-pam package)'],
  ['nis', 'the system tools (getent)'],
  ['msilib', 'external MSI tools'],
  ['aifc', 'the soundfile or pydub packages'],
  ['sunau', 'the soundfile or pydub packages'],
  ['chunk', 'struct, or the soundfile package'],
  ['audioop', 'the audioop-lts package, or numpy'],
  ['ossaudiodev', 'the sounddevice or pyaudio packages'],
];
const PY312: ReadonlyArray<readonly [string, string, string]> = [
  ['distutils', 'PEP 632', 'setuptools, sysconfig and shutil'],
  ['imp', 'PEP 594', 'importlib'],
  ['asyncore', 'PEP 594', 'asyncio'],
  ['asynchat', 'PEP 594', 'asyncio'],
  ['smtpd', 'PEP 594', 'the aiosmtpd package'],
];
const PYTHON2: ReadonlyArray<readonly [string, string]> = [
  ['urllib2', 'urllib.request'],
  ['urlparse', 'urllib.parse'],
  ['ConfigParser', 'configparser'],
  ['cPickle', 'pickle'],
  ['StringIO', 'io.StringIO / io.BytesIO'],
  ['cStringIO', 'io.StringIO / io.BytesIO'],
  ['HTMLParser', 'html.parser'],
  ['htmlentitydefs', 'html.entities'],
  ['Cookie', 'http.cookies'],
  ['cookielib', 'http.cookiejar'],
  ['commands', 'subprocess'],
  ['httplib', 'http.client'],
  ['BaseHTTPServer', 'http.server'],
  ['SimpleHTTPServer', 'http.server'],
  ['CGIHTTPServer', 'http.server'],
  ['Queue', 'queue'],
  ['SocketServer', 'socketserver'],
  ['xmlrpclib', 'xmlrpc.client'],
  ['anydbm', 'dbm'],
  ['md5', 'hashlib'],
  ['sha', 'hashlib'],
  ['sets', 'the built-in set'],
];

const TABLE: ReadonlyMap<string, PythonRemovedModule> = new Map(
  [
    ...PEP594.map(([module, replacement]) => ({
      module,
      removedIn: [3, 13] as const,
      reference: 'PEP 594',
      replacement,
    })),
    {
      module: 'lib2to3',
      removedIn: [3, 13] as const,
      reference: 'PEP 617',
      replacement: 'the parso or libcst packages',
    },
    ...PY312.map(([module, reference, replacement]) => ({
      module,
      removedIn: [3, 12] as const,
      reference,
      replacement,
    })),
    ...PYTHON2.map(([module, replacement]) => ({
      module,
      removedIn: [3, 0] as const,
      reference: 'Python 3 renamed it',
      replacement,
    })),
  ].map((entry) => [entry.module, entry]),
);

/**
 * Looks up a module (or dotted name: its top-level package) Python removed.
 * @example `removedPythonModule('cgi')?.removedIn` → `[3, 13]`
 */
export function removedPythonModule(name: string): PythonRemovedModule | undefined {
  return TABLE.get(name.split('.')[0] ?? name);
}

/**
 * Describes importing a removed module for the interpreter version a script gets.
 *
 * @param version - `[major, minor, ...]` of that interpreter, or `undefined` when unknown
 *   (then the module is taken to be gone, as when an import just failed).
 * @returns `breaks: true` when that version no longer has it, `false` for a heads-up;
 *   `undefined` when the module was never removed.
 */
export function pythonModuleProblem(
  name: string,
  version: readonly number[] | undefined,
): { readonly problem: string; readonly fix: string; readonly breaks: boolean } | undefined {
  const entry = removedPythonModule(name);
  if (entry === undefined) return undefined;
  const [major, minor] = entry.removedIn;
  const removed = `${major}.${minor}`;
  const breaks =
    version === undefined || (version[0] ?? 0) > major || ((version[0] ?? 0) === major && (version[1] ?? 0) >= minor);
  const gets = version === undefined ? '' : ` (this script gets Python ${version.join('.')})`;
  const problem =
    major === 3 && minor === 0
      ? `module ${entry.module} is Python 2 only: ${entry.reference}${gets}`
      : breaks
        ? `module ${entry.module} was removed in Python ${removed} (${entry.reference})${gets}`
        : `module ${entry.module} is removed in Python ${removed} (${entry.reference}): this script breaks when its interpreter is upgraded${gets}`;
  return { problem, fix: `replace ${entry.module}: ${entry.replacement}`, breaks };
}
