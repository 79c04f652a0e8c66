import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../support/cli.js';
import { alive } from '../support/suite.js';

interface Finding {
  script: string;
  check: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  fix: string | null;
}

const HELLO_SH = '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhello\\n"\n';
const HELLO_PY = '#!/usr/bin/env python3\nprint("Content-Type: text/plain")\nprint()\nprint("hello")\n';
const HELLO_PL = '#!/usr/bin/perl\nuse strict;\nprint "Content-Type: text/plain\\n\\nhello\\n";\n';

/** A directory of scripts written for one test file, removed after it. */
function tree(files: Record<string, [content: string, mode: number]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cgibridge-doctor-'));
  // mkdtemp makes it 0700: other users must be able to enter it for the --user checks.
  chmodSync(dir, 0o755);
  for (const [name, [content, mode]] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content, { mode });
    chmodSync(join(dir, name), mode);
  }
  return dir;
}

/** The version of the python3 scripts get from this PATH, as [major, minor]. */
function python3Version(): number[] {
  const out = spawnSync('python3', ['-c', 'import sys; print(sys.version_info[0], sys.version_info[1])'], {
    encoding: 'utf8',
  });
  return out.stdout.trim().split(' ').map(Number);
}

/** An installed Python 3.13+ (pyenv or the system's), or undefined. */
function python313(): string | undefined {
  for (const candidate of ['python3.14', 'python3.13', '/root/.pyenv/versions/3.13.0/bin/python3.13']) {
    const out = spawnSync(candidate, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    if (out.status === 0) return out.stdout.trim();
  }
  return undefined;
}

function doctor(args: string[]) {
  const result = runCli(['doctor', ...args]);
  return { ...result, lines: result.stdout.split('\n') };
}

describe('cgibridge doctor: the classic mistakes, one line each with its fix', () => {
  let dir: string;
  let result: ReturnType<typeof doctor>;
  let findings: Finding[];
  beforeAll(() => {
    dir = tree({
      'ok.sh': [HELLO_SH, 0o755],
      'not-executable.py': [HELLO_PY, 0o644],
      'crlf-env.py': [HELLO_PY.replaceAll('\n', '\r\n'), 0o755],
      'crlf-direct.sh': [HELLO_SH.replaceAll('\n', '\r\n'), 0o755],
      'bom.sh': [`\ufeff${HELLO_SH}`, 0o755],
      'missing-direct.py': ['#!/usr/bin/python9\nprint(1)\n', 0o755],
      'missing-env.py': ['#!/usr/bin/env python9\nprint(1)\n', 0o755],
      'joined-env.py': ['#!/usr/bin/env python3 -u\nprint(1)\n', 0o755],
      'no-shebang.sh': ['echo "Content-Type: text/plain"\necho\n', 0o755],
      'python2.py': ['#!/usr/bin/env python3\nprint "Content-Type: text/plain"\n', 0o755],
      // Parses, but does not compile: only the compiler sees a return outside a function.
      'outside.py': ['#!/usr/bin/env python3\nimport os\n\nreturn 1\n', 0o755],
      'broken.sh': ['#!/bin/sh\nif true; then\n  echo x\n', 0o755],
      'broken.pl': ['#!/usr/bin/perl\nuse strict;\nmy $x = ;\n', 0o755],
      'begin.pl': [`#!/usr/bin/perl\nBEGIN { open(my $f, '>', 'BEGIN-RAN'); }\nprint "x";\n`, 0o755],
      'legacy.py': ['#!/usr/bin/env python3\nimport cgi\nimport cgitb\nimport os\n', 0o755],
      'missing-module.py': ['#!/usr/bin/env python3\nimport no_such_module_cgibridge\n', 0o755],
      'guarded.py': [
        '#!/usr/bin/env python3\ntry:\n    import no_such_module_cgibridge\nexcept ImportError:\n    pass\n',
        0o755,
      ],
      'notes.txt': ['just data\n', 0o644],
      'run.bat': ['@echo off\r\n', 0o755],
    });
    result = doctor([dir]);
    findings = JSON.parse(doctor([dir, '--json']).stdout) as Finding[];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The findings of one script, from the --json report. */
  const of = (script: string) => findings.filter((finding) => finding.script === script);
  /** The text line of one script and check. */
  const line = (script: string, pattern: RegExp) =>
    result.lines.find((text) => text.startsWith(`${script}: `) && pattern.test(text));

  it('exits 1 and ends with a summary line', () => {
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(
      /cgibridge doctor: 18 scripts checked, 1 other file; \d+ problems \(\d+ errors?, \d+ warnings?\)/,
    );
  });

  it.each([
    [
      'not-executable.py',
      'executable',
      /not executable \(-rw-r--r-- .*\) and no interpreter is mapped for "\.py"/,
      /chmod \+x \S*not-executable\.py/,
    ],
    [
      'crlf-env.py',
      'shebang',
      /carriage return .*env looks for a command named "python3\\r"/,
      /convert to LF, e\.g\. dos2unix \S*crlf-env\.py/,
    ],
    [
      'crlf-direct.sh',
      'shebang',
      /carriage return .*the kernel looks for the interpreter "\/bin\/sh\\r"/,
      /dos2unix \S*crlf-direct\.sh/,
    ],
    ['bom.sh', 'shebang', /byte order mark \(BOM\) precedes "#!"/, /without BOM/],
    [
      'missing-direct.py',
      'shebang',
      /interpreter "\/usr\/bin\/python9" named in the shebang line does not exist/,
      /install python9 or change the shebang/,
    ],
    [
      'missing-env.py',
      'shebang',
      /"#!\/usr\/bin\/env python9": python9 is not on the PATH scripts get/,
      /install python9 on that PATH, change the shebang/,
    ],
    ['joined-env.py', 'shebang', /passes "python3 -u" as one argument/, /#!\/usr\/bin\/env -S python3 -u/],
    ['no-shebang.sh', 'shebang', /no shebang line \(#!\)/, /"#!\/bin\/sh"/],
    ['python2.py', 'syntax', /SyntaxError at line 2: Missing parentheses in call to 'print'/, /Python 2 code/],
    ['outside.py', 'syntax', /SyntaxError at line 4: 'return' outside function/, /correct line 4/],
    ['broken.sh', 'syntax', /sh -n: broken\.sh: .*[Ss]yntax error/, /correct line \d+/],
    ['broken.pl', 'syntax', /perl -c: syntax error at broken\.pl line 3/, /correct line 3/],
    [
      'missing-module.py',
      'imports',
      /line 2: module no_such_module_cgibridge is not installed for python3 \(Python 3\.\d+/,
      /install the package that provides it/,
    ],
    ['run.bat', 'executable', /batch files \(\.bat, \.cmd\) are never run/, /rewrite it/],
  ])('%s: %s', (script, check, message, fix) => {
    const found = of(script).find((finding) => finding.check === check && message.test(finding.message));
    expect(found, JSON.stringify(of(script))).toBeDefined();
    expect(found?.severity).toBe('error');
    expect(found?.fix).toMatch(fix);
    expect(line(script, message), result.stdout).toMatch(/: error: .* -- fix: /);
  });

  it('names what replaces cgi and cgitb: an error from Python 3.13, a heads-up before', () => {
    const [major = 0, minor = 0] = python3Version();
    const severity = major > 3 || (major === 3 && minor >= 13) ? 'error' : 'warning';
    const cgi = of('legacy.py').find((finding) => finding.message.includes('module cgi '));
    expect(cgi?.severity).toBe(severity);
    expect(cgi?.message).toMatch(/line 2: module cgi (was|is) removed in Python 3\.13 \(PEP 594\)/);
    expect(cgi?.fix).toMatch(/urllib\.parse\.parse_qs/);
    expect(cgi?.fix).toMatch(/email\.message/);
    expect(cgi?.fix).toMatch(/multipart package/);
    const cgitb = of('legacy.py').find((finding) => finding.message.includes('module cgitb '));
    expect(cgitb?.fix).toMatch(/faulthandler/);
    expect(of('legacy.py').some((finding) => finding.message.includes('module os'))).toBe(false);
  });

  it.skipIf(python313() === undefined)('is an error when the script gets Python 3.13', () => {
    const dir313 = tree({ 'legacy.py': [`#!${python313()}\nimport cgi\n`, 0o755] });
    try {
      const report = JSON.parse(doctor([dir313, '--json']).stdout) as Finding[];
      const cgi = report.find((finding) => finding.check === 'imports');
      expect(cgi?.severity).toBe('error');
      expect(cgi?.message).toMatch(/module cgi was removed in Python 3\.13 .*gets Python 3\.1[3-9]/);
    } finally {
      rmSync(dir313, { recursive: true, force: true });
    }
  });

  it('does not compile Perl with a BEGIN block of its own (perl -c would run it), and says so', () => {
    const begin = of('begin.pl');
    expect(begin).toEqual([expect.objectContaining({ check: 'syntax', severity: 'info' })]);
    expect(begin[0]?.message).toMatch(/not compiled: "perl -c" would run its BEGIN block; pass --run/);
    expect(existsSync(join(dir, 'BEGIN-RAN'))).toBe(false);
    expect(result.stdout).toMatch(
      /note: "perl -c" compiled 1 Perl script, which runs the import code of the modules they use/,
    );
  });

  it('leaves a guarded import, a clean script and a data file alone', () => {
    expect(of('guarded.py')).toEqual([]);
    expect(of('ok.sh')).toEqual([]);
    expect(of('notes.txt')).toEqual([
      expect.objectContaining({ check: 'script', severity: 'info', message: expect.stringMatching(/^not a script/) }),
    ]);
  });

  it('--json prints an array of {script, check, severity, message, fix}', () => {
    expect(findings.length).toBeGreaterThan(15);
    for (const finding of findings) {
      expect(Object.keys(finding).sort()).toEqual(['check', 'fix', 'message', 'script', 'severity']);
      expect(['error', 'warning', 'info']).toContain(finding.severity);
    }
  });
});

describe('cgibridge doctor --run: a GET and its header block', () => {
  let dir: string;
  let findings: Finding[];
  let text: ReturnType<typeof doctor>;
  beforeAll(() => {
    dir = tree({
      'ok.sh': [HELLO_SH, 0o755],
      'no-blank.sh': ['#!/bin/sh\necho "Content-Type: text/html"\necho "<h1>Hello</h1>"\necho "<p>more</p>"\n', 0o755],
      'body-first.py': [
        '#!/usr/bin/env python3\nprint("<p>oops</p>")\nprint("Content-Type: text/html")\nprint()\n',
        0o755,
      ],
      'nothing.sh': ['#!/bin/sh\necho "something went wrong" >&2\nexit 3\n', 0o755],
      'no-type.sh': ['#!/bin/sh\nprintf "X-Thing: 1\\n\\nbody"\n', 0o755],
      'headers-only.sh': ['#!/bin/sh\nprintf "Content-Type: text/plain\\n"\n', 0o755],
      'status-line.sh': ['#!/bin/sh\nprintf "HTTP/1.1 200 OK\\nContent-Type: text/plain\\n\\nhi"\n', 0o755],
      'crash.py': [
        '#!/usr/bin/env python3\nprint("Content-Type: text/plain")\nprint()\nraise SystemExit("boom")\n',
        0o755,
      ],
      'leftover.sh': [
        '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nok"\nsleep 30 >/dev/null 2>&1 &\necho $! > "$LEFTOVER_FILE"\n',
        0o755,
      ],
      'hang.sh': ['#!/bin/sh\necho $$ > "$PID_FILE"\nsleep 30 &\necho $! >> "$PID_FILE"\nwait\n', 0o755],
      'env.sh': ['#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\nenv > "$ENV_FILE"\n', 0o755],
    });
    const env = ['--env', `PID_FILE=${join(dir, 'pids')}`, '--env', `ENV_FILE=${join(dir, 'env.txt')}`];
    env.push('--env', `LEFTOVER_FILE=${join(dir, 'leftover')}`);
    text = doctor([dir, '--run', '--timeout', '1500ms', ...env]);
    findings = JSON.parse(doctor([dir, '--run', '--timeout', '1500ms', '--json', ...env]).stdout) as Finding[];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (script: string) => findings.filter((finding) => finding.script === script && finding.check === 'run');

  it('quotes the first body line when the empty line after the headers is missing, as Apache logs it', () => {
    // Only the first: what follows it is body, not more bad headers.
    expect(run('no-blank.sh')).toHaveLength(1);
    const [found] = run('no-blank.sh');
    expect(found?.message).toBe(
      'GET /cgi-bin/no-blank.sh: malformed header from script \'no-blank.sh\': Bad header: <h1>Hello</h1> (no "Name:")',
    );
    expect(found?.fix).toBe('print an empty line after the headers (before the body)');
    expect(text.stdout).toContain(
      "no-blank.sh: error: GET /cgi-bin/no-blank.sh: malformed header from script 'no-blank.sh': Bad header: <h1>Hello</h1>",
    );
  });

  it('quotes body text printed before the headers', () => {
    expect(run('body-first.py')[0]?.message).toMatch(/Bad header: <p>oops<\/p>/);
    expect(run('body-first.py')[0]?.fix).toMatch(/print the headers .* before anything else/);
  });

  it('reports a script that prints nothing, with its exit status and stderr', () => {
    const messages = run('nothing.sh').map((finding) => finding.message);
    expect(messages).toContain(
      'GET /cgi-bin/nothing.sh: End of script output before headers: nothing.sh printed nothing',
    );
    expect(messages.join('\n')).toMatch(/ended with exit status 3; its stderr ends: something went wrong/);
  });

  it.each([
    ['no-type.sh', /no Content-Type, Status or Location/, /Content-Type: text\/html/],
    [
      'headers-only.sh',
      /End of script output before headers: .*no empty line after them/,
      /print an empty line after the headers/,
    ],
    ['status-line.sh', /Bad header: HTTP\/1\.1 200 OK \(an HTTP status line\)/, /Status: 200 OK/],
    ['crash.py', /ended with exit status 1; its stderr ends: boom/, /stderr/],
  ])('%s', (script, message, fix) => {
    const found = run(script).find((finding) => message.test(finding.message));
    expect(found, JSON.stringify(run(script))).toBeDefined();
    expect(found?.fix).toMatch(fix);
  });

  it('kills a script that does not end, with everything it started', () => {
    expect(run('hang.sh')[0]?.message).toMatch(/still running after 1500 ms: killed/);
    const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('leaves nothing a script started running after it exits', () => {
    expect(run('leftover.sh')).toEqual([]);
    const pid = Number(readFileSync(join(dir, 'leftover'), 'utf8'));
    expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('runs scripts with the gateway environment for a GET of their URL', () => {
    expect(run('ok.sh')).toEqual([]);
    const env = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(env).toMatch(/^REQUEST_METHOD=GET$/m);
    expect(env).toMatch(/^SCRIPT_NAME=\/cgi-bin\/env\.sh$/m);
    expect(env).toMatch(/^GATEWAY_INTERFACE=CGI\/1\.1$/m);
    expect(env).toMatch(/^QUERY_STRING=$/m);
    expect(env).not.toMatch(/^CONTENT_LENGTH=/m);
  });

  it('runs nothing without --run', () => {
    rmSync(join(dir, 'env.txt'), { force: true });
    doctor([dir, '--env', `ENV_FILE=${join(dir, 'env.txt')}`, '--env', `PID_FILE=${join(dir, 'pids2')}`]);
    expect(existsSync(join(dir, 'env.txt'))).toBe(false);
    expect(existsSync(join(dir, 'pids2'))).toBe(false);
  });
});

describe('cgibridge doctor --user', () => {
  let dir: string;
  beforeAll(() => {
    dir = tree({
      'ok.sh': [HELLO_SH, 0o755],
      'private/inside.sh': [HELLO_SH, 0o755],
      'owner-only.sh': [HELLO_SH, 0o700],
    });
    chmodSync(join(dir, 'private'), 0o700);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('checks the path and the file as that user', () => {
    const result = doctor([dir, '--user', 'nobody', '--json']);
    expect(result.status).toBe(1);
    const findings = JSON.parse(result.stdout) as Finding[];
    const inside = findings.find((finding) => finding.script === 'private/inside.sh');
    expect(inside?.check).toBe('access');
    expect(inside?.message).toMatch(
      new RegExp(
        `user nobody \\(uid \\d+, gid \\d+\\) cannot reach it: directory ${dir}/private \\(drwx------ \\d+:\\d+\\) is not searchable for them`,
      ),
    );
    expect(inside?.fix).toBe(`chmod o+x ${dir}/private, or run scripts as a user that may enter it`);
    const owner = findings.find((finding) => finding.script === 'owner-only.sh');
    expect(owner?.message).toMatch(/user nobody .* may not read or execute it \(-rwx------/);
    expect(owner?.fix).toMatch(/^chmod o\+rx \S*owner-only\.sh, or chown it to nobody$/);
    expect(findings.filter((finding) => finding.script === 'ok.sh')).toEqual([]);
  });

  it('accepts UID:GID and refuses an unknown name', () => {
    const numeric = doctor([dir, '--user', '65534:65534', '--json']);
    expect(JSON.parse(numeric.stdout).some((finding: Finding) => finding.script === 'private/inside.sh')).toBe(true);
    const unknown = doctor([dir, '--user', 'no-such-user-cgibridge']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^cgibridge: --user "no-such-user-cgibridge": no such user/);
  });
});

describe('cgibridge doctor on a healthy tree', () => {
  let dir: string;
  beforeAll(() => {
    dir = tree({
      'hello.sh': [HELLO_SH, 0o755],
      'hello.py': [HELLO_PY, 0o755],
      'hello.pl': [HELLO_PL, 0o755],
      'mapped.py': [HELLO_PY.replace(/^#!.*\n/, ''), 0o644],
      'lib/data.json': ['{}\n', 0o644],
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0, with and without --run, honouring --interpreter', () => {
    for (const extra of [[], ['--run']]) {
      const result = doctor([dir, '--interpreter', '.py=python3', ...extra]);
      expect(result.stdout).toMatch(/cgibridge doctor: 4 scripts checked, 1 other file; no problems found/);
      expect(result.status, result.stdout).toBe(0);
    }
    // Without the mapping, mapped.py is a script without execute bit.
    expect(doctor([dir]).status).toBe(1);
  });

  it('checks one script with --script, and the current directory without an argument', () => {
    const one = doctor(['--script', join(dir, 'hello.py'), '--run']);
    expect(one.stdout).toMatch(/1 script checked; no problems found/);
    expect(one.status).toBe(0);
    const cwd = spawnSync(CLI, ['doctor'], { cwd: dir, encoding: 'utf8' });
    expect(cwd.stdout).toMatch(/4 scripts checked, 1 other file; 2 problems/);
  });

  it('takes the serve flags through the serve parser', () => {
    const bad = doctor([dir, '--timeout', '5x']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^cgibridge: --timeout must be a duration/);
    const help = doctor(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: cgibridge doctor/);
    expect(help.stdout).toMatch(/BEGIN/);
  });
});
