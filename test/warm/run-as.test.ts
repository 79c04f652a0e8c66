// runAs and limits run warm: the zygote's child takes the limits, then the user, in the native
// spawner's order, before anything of the script runs; the script sees what a cold one sees.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChildProcessSpawner } from '../../packages/core/dist/child-process-spawner.js';
import { loadNativeSpawner } from '../../packages/core/dist/native-spawner.js';
import type { CgiSpawnOptions } from '../../packages/core/dist/spawner.js';
import { request } from '../support/http.js';
import { nodeAdapter, type TestServer } from '../support/servers.js';
import { eventually } from '../support/suite.js';
import { processesOf, userIds } from '../support/users.js';
import { BASE_ENV, newWarmSpawner, optionsFor, PYTHON, run, runExpecting, scriptDir, warmUp } from './harness.js';

const MiB = 1024 * 1024;
const CORE_DIST = new URL('../../packages/core/dist/', import.meta.url).href;
/** World-readable copies made for `nobody`, removed after the file. */
const copies: string[] = [];
const root = process.getuid?.() === 0;
const nobody = userIds('nobody') ?? { uid: 65534, gid: 65534 };
/** The reference: the native spawner does exactly these steps between clone and execve. */
const cold = loadNativeSpawner().spawner ?? createChildProcessSpawner();

// Supplementary groups the zygote inherits (this test file's own process): the child must drop them.
const groups = process.getgroups?.() ?? [];
if (root) process.setgroups?.([0, 12345]);
const files = scriptDir();
const spawner = newWarmSpawner();
// The script's user must reach the scripts: mkdtemp made the directory 0700.
chmodSync(files.dir, 0o755);

beforeAll(async () => {
  await warmUp(spawner, optionsFor(files.write('warmup.py', 'pass\n'), 'shebang'));
});
afterAll(async () => {
  await spawner.close();
  files.cleanup();
  for (const copy of copies) rmSync(copy, { recursive: true, force: true });
  if (root) process.setgroups?.(groups);
});

const IDENTITY = `import ctypes, os, sys
print(os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups())
print(os.getresuid(), os.getresgid())
st = os.stat("/proc/self")
print("/proc/self owned by", st.st_uid, st.st_gid, "dumpable", ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))
print([line for line in open("/proc/self/status") if line.startswith(("Cap", "NoNewPrivs", "Seccomp"))])
print(oct(os.umask(0o22)), sorted(os.listdir("/proc/self/fd")), "resource" in sys.modules)
print(open("/proc/self/limits").read())
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as f:
        f.write("written\\n")
`;

/** Runs cold and warm; both must print the same bytes and end alike. */
async function sameAsCold(options: CgiSpawnOptions): Promise<string> {
  const reference = await run(cold, options);
  const warm = await runExpecting('warm', spawner, options);
  expect(reference.stderr.toString()).toBe('');
  expect(warm.stdout.toString()).toBe(reference.stdout.toString());
  expect(warm.stderr.toString()).toBe(reference.stderr.toString());
  expect(warm.exit).toEqual(reference.exit);
  return warm.stdout.toString();
}

describe.skipIf(!root)('runAs: the child becomes the user before the script runs', () => {
  it('ids, no supplementary groups, no capabilities, a dumpable process, /proc/self its own: as cold', async () => {
    const script = files.write('identity.py', IDENTITY);
    const limits = { cpuSeconds: 7, memoryBytes: 300 * MiB, processes: 50 };
    const shown = await sameAsCold({ ...optionsFor(script, 'shebang'), credentials: nobody, limits });
    const { uid, gid } = nobody;
    expect(shown).toContain(`${uid} ${uid} ${gid} ${gid} []\n(${uid}, ${uid}, ${uid}) (${gid}, ${gid}, ${gid})\n`);
    expect(shown).toContain(`/proc/self owned by ${uid} ${gid} dumpable 1`);
    expect(shown).toContain("'CapEff:\\t0000000000000000\\n'");
    expect(shown).toContain("['0', '1', '2', '3'] False");
    expect(shown).toMatch(/Max processes\s+50\s+50\s+processes/);
  });

  it("a file the script writes is the user's (mapped interpreter too)", async () => {
    const out = join(files.dir, 'out');
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    const script = files.write('writer.py', IDENTITY);
    for (const mode of ['shebang', 'mapped'] as const) {
      const file = join(out, `${mode}.txt`);
      await runExpecting('warm', spawner, { ...optionsFor(script, mode, { args: [file] }), credentials: nobody });
      expect(statSync(file)).toMatchObject({ uid: nobody.uid, gid: nobody.gid });
    }
  });

  const reachable = (path: string): boolean =>
    path === '/' || ((statSync(path).mode & 0o001) !== 0 && reachable(dirname(path)));

  /**
   * A Node binary `nobody` may execute: this one, unless it lives where others cannot reach (the
   * Node 22/24 lines CI installs under root's home); then the machine's own.
   */
  function nodeForOthers(): string {
    return reachable(process.execPath) ? process.execPath : '/usr/bin/node';
  }

  /**
   * Core's build as `nobody` can load it: where it is, or a copy in a world-readable temporary
   * directory when the checkout is not reachable by others (a fresh clone under a 0700 mktemp
   * directory, as CI makes one). The copy takes what `warm-python.js` needs: core's dist and its
   * Python zygote, the native addon and its loader.
   */
  function coreForOthers(): string {
    const dist = fileURLToPath(CORE_DIST);
    if (reachable(dist)) return CORE_DIST;
    const shared = mkdtempSync(join(tmpdir(), 'cgibridge-others-'));
    const core = join(fileURLToPath(CORE_DIST), '..');
    const modules = join(core, '..', '..', 'node_modules');
    cpSync(join(core, 'dist'), join(shared, 'core', 'dist'), { recursive: true });
    cpSync(join(core, 'python'), join(shared, 'core', 'python'), { recursive: true });
    cpSync(join(core, 'package.json'), join(shared, 'core', 'package.json'));
    for (const name of ['@cgibridge/native', 'node-gyp-build']) {
      cpSync(join(modules, name), join(shared, 'node_modules', name), { recursive: true, dereference: true });
    }
    spawnSync('chmod', ['-R', 'a+rX', shared]);
    copies.push(shared);
    return pathToFileURL(join(shared, 'core', 'dist')).href + '/';
  }

  it('a refused user switch (a server that is not root) fails the spawn as cold does; nothing runs', () => {
    const marker = join(files.dir, 'refused-ran');
    chmodSync(files.dir, 0o777);
    const script = files.write('refused.py', `open(${JSON.stringify(marker)}, "w").close()\n`);
    // A server running as nobody, asked to run a script as root: setgid(0) is refused (EPERM).
    const dist = coreForOthers();
    const program = `
      const { createChildProcessSpawner } = await import(${JSON.stringify(`${dist}child-process-spawner.js`)});
      const { loadNativeSpawner } = await import(${JSON.stringify(`${dist}native-spawner.js`)});
      const { createWarmSpawner } = await import(${JSON.stringify(`${dist}warm-python.js`)});
      const cold = loadNativeSpawner().spawner ?? createChildProcessSpawner();
      const logger = { debug() {}, info() {}, warn: (m) => console.error(m), error: (m) => console.error(m) };
      const warm = createWarmSpawner(cold, { baseEnv: ${JSON.stringify(BASE_ENV)} }, logger);
      const options = ${JSON.stringify({ ...optionsFor(script, 'shebang'), credentials: { uid: 0, gid: 0 } })};
      const shape = (e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message });
      const outcome = (p) => p.then((c) => { c.stdin.end(); return 'started ' + c.spawner; }, shape);
      const results = { cold: cold.name === 'native' ? await outcome(cold.spawn(options)) : undefined };
      const deadline = Date.now() + 20000;
      while (warm.stats().warm === 0 && Date.now() < deadline) {
        results.warm = await outcome(warm.spawn(options));
        await new Promise((r) => setTimeout(r, 100));
      }
      results.stats = warm.stats();
      await warm.close();
      console.log(JSON.stringify(results));`;
    const ran = spawnSync(nodeForOthers(), ['--input-type=module', '-e', program], {
      ...nobody,
      encoding: 'utf8',
      timeout: 30_000,
    });
    chmodSync(files.dir, 0o755);
    const results = JSON.parse(ran.stdout || '{}');
    expect(results.stats?.warm, ran.stderr).toBe(1);
    expect(results.warm).toEqual({
      code: 'EPERM',
      errno: -1,
      syscall: 'setgid',
      path: script,
      message: `setgid ${script} EPERM`,
    });
    if (results.cold !== undefined) expect(results.warm).toEqual(results.cold);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('limits: set in the child, counted from the fork', () => {
  const LIMITS = { cpuSeconds: 7, memoryBytes: 300 * MiB, processes: 50 };

  it('/proc/self/limits as cold, with and without runAs', async () => {
    const script = files.write('limits.py', 'print(open("/proc/self/limits").read())\n');
    const shown = await sameAsCold({ ...optionsFor(script, 'shebang'), limits: LIMITS });
    expect(shown).toMatch(/Max cpu time\s+7\s+8\s+seconds/);
    expect(shown).toMatch(new RegExp(`Max address space\\s+${300 * MiB}\\s+${300 * MiB}\\s+bytes`));
    expect(shown).toMatch(/Max processes\s+50\s+50\s+processes/);
    if (root) await sameAsCold({ ...optionsFor(script, 'mapped'), limits: LIMITS, credentials: nobody });
  });

  it('a CPU hog is killed by SIGXCPU after a whole second of its own CPU time', async () => {
    // It reports its CPU time as it goes: the child's preparation must not have used the second up.
    const script = files.write(
      'cpuhog.py',
      'import sys, time\nwhile True:\n    sys.stdout.write("%.2f\\n" % time.process_time())\n    sys.stdout.flush()\n    end = time.process_time() + 0.1\n    while time.process_time() < end:\n        pass\n',
    );
    const limits = { cpuSeconds: 1 };
    const warm = await runExpecting('warm', spawner, { ...optionsFor(script, 'shebang'), limits });
    expect(warm.exit).toEqual({ code: null, signal: 'SIGXCPU' });
    const seen = warm.stdout.toString().trim().split('\n').map(Number);
    expect(seen[0]).toBeLessThan(0.5);
    expect(seen.at(-1)).toBeGreaterThanOrEqual(0.8);
    expect((await run(cold, { ...optionsFor(script, 'shebang'), limits })).exit).toEqual(warm.exit);
  });

  it('a memory hog gets MemoryError at its address-space limit', async () => {
    const script = files.write(
      'memhog.py',
      'try:\n    block = bytearray(512 * 1024 * 1024)\n    print("allocated")\nexcept MemoryError:\n    print("MemoryError")\n',
    );
    const limited = { ...optionsFor(script, 'shebang'), limits: { memoryBytes: 256 * MiB } };
    expect((await runExpecting('warm', spawner, limited)).stdout.toString()).toBe('MemoryError\n');
    expect((await runExpecting('warm', spawner, optionsFor(script, 'shebang'))).stdout.toString()).toBe('allocated\n');
  });
});

describe.skipIf(!root)('RLIMIT_NPROC as another user (the kernel does not apply it to root)', () => {
  const sleepers: ChildProcess[] = [];
  afterAll(() => {
    for (const sleeper of sleepers) sleeper.kill('SIGKILL');
  });

  it('a bounded fork loop stops at the process limit', async () => {
    await eventually(() => processesOf(nobody.uid) === 0, 10_000, "nobody's processes to be gone");
    const script = files.write(
      'forks.py',
      'import os, time\nstarted = 0\nfor _ in range(200):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n    if pid == 0:\n        time.sleep(1)\n        os._exit(0)\n    started += 1\nprint(started)\n',
    );
    const options = { ...optionsFor(script, 'shebang'), limits: { processes: 20 }, credentials: nobody };
    const started = Number((await runExpecting('warm', spawner, options)).stdout.toString());
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(20);
  });

  it('a user already over the limit at the switch: EAGAIN as a cold start gives, nothing runs', async () => {
    // A user of this test's own: RLIMIT_NPROC counts every process of the user, and other test
    // files run scripts as nobody at the same time.
    const nobody = { uid: 61_235, gid: 61_235 };
    await eventually(() => processesOf(nobody.uid) === 0, 10_000, "the user's processes to be gone");
    for (let i = 0; i < 4; i++) {
      sleepers.push(spawn(PYTHON, ['-c', 'import time; time.sleep(60)'], { ...nobody, stdio: 'ignore' }));
    }
    await eventually(() => processesOf(nobody.uid) === 4, 10_000, 'four processes of the user');
    const marker = join(files.dir, 'over-limit-ran');
    chmodSync(files.dir, 0o777);
    const script = files.write('over.py', `open(${JSON.stringify(marker)}, "w").close()\n`);
    // Cold: the execve after setuid fails when the user had more than the limit before the switch.
    const over = { ...optionsFor(script, 'shebang'), limits: { processes: 3 }, credentials: nobody };
    const error = await spawner.spawn(over).catch((failure: NodeJS.ErrnoException) => failure);
    expect(error).toMatchObject({ code: 'EAGAIN', syscall: `spawn ${script}` });
    // The refused child was reaped before the error came: it counts against nobody no more.
    expect(processesOf(nobody.uid)).toBe(4);
    if (cold.name === 'native') {
      await expect(cold.spawn(over)).rejects.toMatchObject({ code: 'EAGAIN', syscall: `spawn ${script}` });
    }
    expect(existsSync(marker)).toBe(false);
    const atLimit = { ...over, limits: { processes: 4 } };
    expect((await runExpecting('warm', spawner, atLimit)).exit).toEqual({ code: 0, signal: null });
    expect(existsSync(marker)).toBe(true);
    chmodSync(files.dir, 0o755);
  });
});

describe.skipIf(!root)("the gateway with runAs: 'nobody' and limits", () => {
  let server: TestServer;
  beforeAll(async () => {
    mkdirSync(join(files.dir, 'site'), { mode: 0o755 });
    files.write(
      'site/whoami.py',
      'import os\nprint("Content-Type: text/plain")\nprint()\nprint(os.getuid(), os.getgroups())\n',
    );
    server = await nodeAdapter.start({
      root: join(files.dir, 'site'),
      warm: { '.py': true },
      runAs: 'nobody',
      limits: { cpuSeconds: 5, processes: 50 },
    });
  });
  afterAll(() => server?.close());

  it('serves Python scripts warm, as nobody', async () => {
    await eventually(
      async () => {
        const reply = await request(`${server.origin}/whoami.py`);
        expect(reply.text).toBe(`${nobody.uid} []\n`);
        return server.events.some((event) => event.type === 'spawn' && event.spawner === 'warm-python');
      },
      20_000,
      'a warm start',
    );
    const reply = await request(`${server.origin}/whoami.py`);
    expect(reply.text).toBe(`${nobody.uid} []\n`);
    const spawns = server.events.filter((event) => event.type === 'spawn');
    expect(spawns.at(-1)).toMatchObject({ spawner: 'warm-python' });
  });
});
