// Everything warm cannot reproduce runs cold, through the cold spawner, with the right output.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_ENV,
  newWarmSpawner,
  optionsFor,
  PYTHON,
  recordingLogger,
  runExpecting,
  scriptDir,
  warmUp,
} from './harness.js';

const files = scriptDir();
const logger = recordingLogger();
const spawner = newWarmSpawner({ extensions: ['.py', ''], exclude: ['secret-*.py', '**/private/**'] }, logger);
const HELLO = 'import sys\nprint("hello", type(sys.stdout.buffer).__name__)\n';

beforeAll(async () => {
  await warmUp(spawner, optionsFor(files.write('warmup.py', 'pass\n'), 'shebang'));
});
afterAll(async () => {
  await spawner.close();
  files.cleanup();
});

/** Runs cold and checks the reason the spawner counted. */
async function expectCold(options: Parameters<typeof spawner.spawn>[0], reason: string | RegExp, stdout?: string) {
  const result = await runExpecting('cold', spawner, options);
  const reasons = Object.keys(spawner.stats().coldReasons);
  expect(
    reasons.some((r) => (typeof reason === 'string' ? r === reason : reason.test(r))),
    reasons.join(', '),
  ).toBe(true);
  if (stdout !== undefined) expect(result.stdout.toString(), result.stderr.toString()).toBe(stdout);
  return result;
}

describe('the interpreter a script would really run', () => {
  it('#!/usr/bin/env python3 and an extensionless script go warm', async () => {
    await runExpecting(
      'warm',
      spawner,
      optionsFor(files.write('env.py', `#!/usr/bin/env python3\n${HELLO}`), 'shebang'),
    );
    await runExpecting('warm', spawner, optionsFor(files.write('noext', HELLO), 'shebang'));
  });

  it('shebang flags go cold (-u really applies)', async () => {
    const script = files.write('flags.py', `#!${PYTHON} -u\n${HELLO}`);
    await expectCold(optionsFor(script, 'shebang'), 'shebang interpreter arguments', 'hello FileIO\n');
  });

  it('env with options goes cold', async () => {
    const script = files.write('env-s.py', `#!/usr/bin/env -S python3 -u\n${HELLO}`);
    await expectCold(optionsFor(script, 'shebang'), 'env shebang with options', 'hello FileIO\n');
  });

  it('mapped interpreter arguments go cold', async () => {
    const script = files.write('mapped-args.py', HELLO);
    const options = optionsFor(script, 'mapped');
    await expectCold({ ...options, args: ['-u', ...options.args] }, 'interpreter arguments', 'hello FileIO\n');
  });

  it('another interpreter goes cold: sh, and a python3 that is a wrapper script', async () => {
    await expectCold(
      optionsFor(files.write('sh.py', '#!/bin/sh\necho shell\n'), 'shebang'),
      'interpreter is not python3',
    );
    const bin = join(files.dir, 'wrapper-bin');
    mkdirSync(bin);
    files.write('wrapper-bin/python3', `#!/bin/sh\nexec ${PYTHON} "$@"\n`);
    const script = files.write('wrapped.py', `#!${bin}/python3\n${HELLO}`);
    await expectCold(optionsFor(script, 'shebang'), 'interpreter is not a binary', 'hello BufferedWriter\n');
  });

  it('a virtual environment goes cold', async () => {
    const venv = join(files.dir, 'venv');
    const made = spawnSync(PYTHON, ['-m', 'venv', '--without-pip', venv], { env: BASE_ENV });
    expect(made.status, made.stderr.toString()).toBe(0);
    const script = files.write(
      'in-venv.py',
      `#!${venv}/bin/python3\nimport sys\nprint(sys.prefix == sys.base_prefix)\n`,
    );
    await expectCold(optionsFor(script, 'shebang'), 'virtual environment', 'False\n');
  });
});

describe('the request', () => {
  it('a start-up variable that differs from the zygote goes cold: PYTHON*, LANG, HOME', async () => {
    const script = files.write('hash.py', 'import sys\nprint(sys.flags.hash_randomization, hash("x") == hash("x"))\n');
    await expectCold(optionsFor(script, 'shebang', { env: { PYTHONHASHSEED: '0' } }), /^PYTHONHASHSEED/, '0 True\n');
    await expectCold(optionsFor(script, 'shebang', { env: { LANG: 'C' } }), /^LANG/);
    await expectCold(optionsFor(script, 'shebang', { env: { HOME: '/nonexistent' } }), /^HOME/);
    const withoutLang: Record<string, string> = { ...optionsFor(script, 'shebang').env };
    delete withoutLang.LANG;
    await expectCold({ ...optionsFor(script, 'shebang'), env: withoutLang }, /^LANG/);
    // Other variables differ on every request: still warm.
    await runExpecting(
      'warm',
      spawner,
      optionsFor(script, 'shebang', { env: { QUERY_STRING: 'a=1', PATH: '/bin:/usr/bin' } }),
    );
  });

  it('excluded scripts and unselected extensions go cold', async () => {
    await expectCold(optionsFor(files.write('secret-key.py', HELLO), 'shebang'), 'excluded');
    mkdirSync(join(files.dir, 'private'));
    await expectCold(optionsFor(files.write('private/a.py', HELLO), 'shebang'), 'excluded');
    await expectCold(optionsFor(files.write('other.cgi', HELLO), 'shebang'), 'extension', 'hello BufferedWriter\n');
  });

  it('the logger says once per reason why scripts run cold; limits and a user are no reason', async () => {
    const script = files.write('once.py', `#!${PYTHON} -S\n${HELLO}`);
    await expectCold(optionsFor(script, 'shebang'), 'shebang interpreter arguments');
    await expectCold(optionsFor(script, 'shebang'), 'shebang interpreter arguments');
    expect(logger.lines.filter((l) => l.includes('run cold: shebang interpreter arguments'))).toHaveLength(1);
    const ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const limited = { ...optionsFor(files.write('limited.py', HELLO), 'shebang'), limits: { cpuSeconds: 5 } };
    await runExpecting('warm', spawner, { ...limited, credentials: ids });
    expect(logger.lines.filter((l) => l.includes('run cold: zygote'))).toEqual([]);
  });

  it('a module or package beside the script named like a preloaded one goes cold (a cold run imports it)', async () => {
    const dir = join(files.dir, 'shadowed');
    mkdirSync(dir);
    files.write('shadowed/random.py', 'def random():\n    return "local random"\n');
    const script = files.write('shadowed/uses.py', 'import random\nprint(random.random())\n');
    await expectCold(optionsFor(script, 'shebang'), '"random" beside the script', 'local random\n');
    const pkg = join(files.dir, 'pkg-shadow');
    mkdirSync(join(pkg, 'json'), { recursive: true });
    files.write('pkg-shadow/json/__init__.py', 'def dumps(x):\n    return "local json"\n');
    const other = files.write('pkg-shadow/uses.py', 'import json\nprint(json.dumps(1))\n');
    await expectCold(optionsFor(other, 'shebang'), '"json" beside the script', 'local json\n');
  });
});
