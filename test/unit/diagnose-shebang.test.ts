import {
  type CgiFileProbe,
  checkShebang,
  explainScriptFailure,
  findOnPath,
  parseShebang,
  pythonModuleProblem,
} from '@cgibridge/core';
import { describe, expect, it } from 'vitest';

// A file system of three executables, one plain file and a directory: the functions are pure.
const FILES: Record<string, ReturnType<CgiFileProbe>> = {
  '/usr/bin/env': 'executable',
  '/usr/bin/python3': 'executable',
  '/opt/py/bin/python3.13': 'executable',
  '/usr/bin/perl': 'file',
  '/usr/lib': 'directory',
};
const probe: CgiFileProbe = (path) => FILES[path] ?? 'missing';
const context = { pathEnv: '/usr/local/bin:/usr/bin', probe, name: 'x.py' };

describe('parseShebang', () => {
  it('reads the line as the kernel does: one interpreter, one argument, a CR kept', () => {
    expect(parseShebang('#! /usr/bin/perl  -w -T \t\nprint')).toEqual({
      interpreter: '/usr/bin/perl',
      argument: '-w -T',
      bom: false,
      crlf: false,
      env: undefined,
    });
    expect(parseShebang('#!/usr/bin/env python3\r\n')).toMatchObject({
      interpreter: '/usr/bin/env',
      argument: 'python3\r',
      crlf: true,
      env: { command: 'python3\r', args: [], joined: false },
    });
    expect(parseShebang(Buffer.from('\xef\xbb\xbf#!/bin/sh\n', 'latin1'))).toMatchObject({
      bom: true,
      interpreter: '/bin/sh',
    });
    expect(parseShebang('#!/usr/bin/env -S VAR=1 perl -T\n')?.env).toEqual({
      command: 'perl',
      args: ['-T'],
      joined: false,
    });
    expect(parseShebang('print 1\n')).toBeUndefined();
  });
});

describe('checkShebang', () => {
  it.each([
    ['#!/usr/bin/python3\n', undefined],
    ['#!/usr/bin/env python3\n', undefined],
    ['\x7fELF\x02\x01', undefined],
    ['#!/usr/bin/env python3\r\n', 'crlf-shebang'],
    ['#!/usr/bin/python3\r\n', 'crlf-shebang'],
    ['\xef\xbb\xbf#!/usr/bin/python3\n', 'bom-before-shebang'],
    ['#!/usr/bin/python9\n', 'interpreter-not-found'],
    ['#!/usr/bin/perl\n', 'interpreter-not-executable'],
    ['#!/usr/lib\n', 'interpreter-not-executable'],
    ['#!/usr/bin/env python9\n', 'env-command-not-found'],
    ['#!/usr/bin/env python3 -u\n', 'env-arguments-joined'],
    ['#!/usr/bin/env -S python3 -u\n', undefined],
    ['#!python3\n', 'relative-interpreter'],
    ['#!\n', 'empty-shebang'],
    ['import os\n', 'no-shebang'],
  ])('%j → %s', (head, code) => {
    expect(checkShebang(head, context)?.code).toBe(code);
  });

  it('suggests an interpreter of the same family that exists', () => {
    expect(checkShebang('#!/usr/bin/python9\n', context)?.fix).toBe(
      'install python9 or change the shebang (e.g. "#!/usr/bin/python3")',
    );
    expect(checkShebang('#!/usr/bin/env python9\n', context)?.fix).toMatch(/e\.g\. "#!\/usr\/bin\/env python3"/);
  });

  it('looks env commands up on the PATH it is given, like execvp', () => {
    expect(checkShebang('#!/usr/bin/env python3.13\n', context)?.code).toBe('env-command-not-found');
    expect(checkShebang('#!/usr/bin/env python3.13\n', { ...context, pathEnv: '/opt/py/bin' })).toBeUndefined();
    expect(findOnPath('perl', '/usr/bin', probe)).toBeUndefined();
    expect(findOnPath('python3', ':/usr/bin', probe, '/srv')).toBe('/usr/bin/python3');
    expect(findOnPath('python3', undefined, probe)).toBe('/usr/bin/python3');
  });
});

describe('explainScriptFailure', () => {
  it('names the CRLF behind env exiting 127 without output', () => {
    const explained = explainScriptFailure({
      ...context,
      head: '#!/usr/bin/env python3\r\n',
      direct: true,
      exitCode: 127,
      stdoutBytes: 0,
    });
    expect(explained?.code).toBe('crlf-shebang');
    expect(explained?.problem).toMatch(/env looks for a command named "python3\\r"/);
  });

  it('names a missing env command after a 127, and ignores a shebang when an interpreter was mapped', () => {
    const facts = { ...context, head: '#!/usr/bin/env python9\n', exitCode: 127, stdoutBytes: 0 };
    expect(explainScriptFailure({ ...facts, direct: true })?.code).toBe('env-command-not-found');
    expect(explainScriptFailure({ ...facts, direct: false })).toBeUndefined();
  });

  it('reads removed or missing modules from stderr', () => {
    const cgi = explainScriptFailure({
      ...context,
      head: undefined,
      direct: true,
      exitCode: 1,
      stderr:
        'Traceback (most recent call last):\n  File "x.py", line 2\nModuleNotFoundError: No module named \'cgi\'\n',
    });
    expect(cgi).toMatchObject({
      code: 'module-removed',
      problem: expect.stringMatching(/cgi was removed in Python 3\.13/),
    });
    const perl = explainScriptFailure({
      ...context,
      head: undefined,
      direct: true,
      exitCode: 2,
      stderr: "Can't locate CGI.pm in @INC (you may need to install the CGI module) (@INC contains: /etc/perl)",
    });
    expect(perl?.fix).toMatch(/libcgi-pm-perl/);
  });
});

describe('pythonModuleProblem', () => {
  it('is a heads-up before the removal and an error from it', () => {
    expect(pythonModuleProblem('cgi', [3, 12, 1])?.breaks).toBe(false);
    expect(pythonModuleProblem('cgi', [3, 13, 0])?.breaks).toBe(true);
    expect(pythonModuleProblem('distutils.core', [3, 12])?.problem).toMatch(
      /distutils was removed in Python 3\.12 \(PEP 632\)/,
    );
    expect(pythonModuleProblem('urllib2', [3, 11])?.fix).toBe('replace urllib2: urllib.request');
    expect(pythonModuleProblem('os', [3, 13])).toBeUndefined();
  });
});
