// Zygotes come and go: killed, stuck, recycled, stale, closed, or left behind by a dying gateway.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  alive,
  BASE_ENV,
  newWarmSpawner,
  optionsFor,
  recordingLogger,
  run,
  runExpecting,
  scriptDir,
  until,
  warmUp,
  zygotePid,
} from './harness.js';

const files = scriptDir();
const hello = files.write('hello.py', 'print("hello")\n');
afterAll(() => files.cleanup());

describe('a zygote that dies or hangs', () => {
  it('killed: the next request runs cold, a new zygote starts, and later requests are warm again', async () => {
    const spawner = newWarmSpawner();
    try {
      await warmUp(spawner, optionsFor(hello, 'shebang'));
      const first = zygotePid(spawner);
      process.kill(first, 'SIGKILL');
      await until(() => !alive(first), 'the zygote to die');
      const cold = await runExpecting('cold', spawner, optionsFor(hello, 'shebang'));
      expect(cold.stdout.toString()).toBe('hello\n');
      // A zygote that died is restarted after a backoff (a second here), by a request.
      await warmUp(spawner, optionsFor(hello, 'shebang'));
      expect(zygotePid(spawner)).not.toBe(first);
      expect((await runExpecting('warm', spawner, optionsFor(hello, 'shebang'))).stdout.toString()).toBe('hello\n');
    } finally {
      await spawner.close();
    }
  });

  it('killed while a warm child runs: the child is killed too and its exit says so', async () => {
    const spawner = newWarmSpawner();
    try {
      await warmUp(spawner, optionsFor(hello, 'shebang'));
      const slow = files.write('slow.py', 'import time\nprint("started", flush=True)\ntime.sleep(60)\n');
      const proc = await spawner.spawn(optionsFor(slow, 'shebang'));
      await new Promise((resolve) => proc.stdout.once('data', resolve));
      process.kill(zygotePid(spawner), 'SIGKILL');
      expect(await proc.exit).toEqual({ code: null, signal: 'SIGKILL' });
      await until(() => !proc.groupAlive(), 'the orphaned child to die');
    } finally {
      await spawner.close();
    }
  });

  it('stuck (stopped): the request runs cold after forkTimeoutMs and the zygote is replaced', async () => {
    const logger = recordingLogger();
    const spawner = newWarmSpawner({ forkTimeoutMs: 300 }, logger);
    try {
      await warmUp(spawner, optionsFor(hello, 'shebang'));
      const stuck = zygotePid(spawner);
      process.kill(stuck, 'SIGSTOP');
      const result = await runExpecting('cold', spawner, optionsFor(hello, 'shebang'));
      expect(result.stdout.toString()).toBe('hello\n');
      expect(spawner.stats().coldReasons['zygote: zygote stuck']).toBe(1);
      await until(() => !alive(stuck), 'the stuck zygote to be killed');
      expect(logger.lines.join('\n')).toContain('no child within 300 ms');
      // A failed zygote is restarted after a backoff (a second here), by a request.
      await warmUp(spawner, optionsFor(hello, 'shebang'));
      await runExpecting('warm', spawner, optionsFor(hello, 'shebang'));
    } finally {
      await spawner.close();
    }
  });

  it('a zygote that cannot start: cold, a warning, and a backoff instead of a restart per request', async () => {
    const bin = join(files.dir, 'broken-bin');
    mkdirSync(bin);
    copyFileSync('/bin/false', join(bin, 'python3.99'));
    const script = files.write('broken.py', `#!${bin}/python3.99\n`);
    const logger = recordingLogger();
    const spawner = newWarmSpawner({}, logger);
    try {
      await runExpecting('cold', spawner, optionsFor(script, 'shebang'));
      await until(() => spawner.stats().zygotes.length === 0, 'the broken zygote to exit');
      for (let i = 0; i < 5; i++) await runExpecting('cold', spawner, optionsFor(script, 'shebang'));
      expect(logger.lines.filter((l) => l.includes('exited'))).toHaveLength(1);
    } finally {
      await spawner.close();
    }
  });
});

describe('recycling', () => {
  it('after maxRequests a successor takes over once ready, and the old zygote exits', async () => {
    const spawner = newWarmSpawner({ maxRequests: 3 });
    try {
      await warmUp(spawner, optionsFor(hello, 'shebang'));
      const first = zygotePid(spawner);
      for (let i = 0; i < 3; i++) await runExpecting('warm', spawner, optionsFor(hello, 'shebang'));
      // The fourth still goes to the first zygote while its successor starts.
      await runExpecting('warm', spawner, optionsFor(hello, 'shebang'));
      await until(() => spawner.stats().zygotes.filter((z) => z.state === 'ready').length === 2, 'the successor');
      await runExpecting('warm', spawner, optionsFor(hello, 'shebang'));
      await until(() => !alive(first), 'the first zygote to exit');
      expect(zygotePid(spawner)).not.toBe(first);
    } finally {
      await spawner.close();
    }
  });

  it('after maxAgeMs too', async () => {
    const spawner = newWarmSpawner({ maxAgeMs: 200 });
    try {
      await warmUp(spawner, optionsFor(hello, 'shebang'));
      const first = zygotePid(spawner);
      await new Promise((resolve) => setTimeout(resolve, 250));
      await runExpecting('warm', spawner, optionsFor(hello, 'shebang'));
      await until(() => spawner.stats().zygotes.some((z) => z.state === 'ready' && z.pid !== first), 'a successor');
      await run(spawner, optionsFor(hello, 'shebang'));
      await until(() => !alive(first), 'the first zygote to exit');
    } finally {
      await spawner.close();
    }
  });

  it('when a module it preloaded changes on disk: cold until a fresh zygote is ready', async () => {
    const lib = join(files.dir, 'lib');
    mkdirSync(lib);
    writeFileSync(join(lib, 'sitelib.py'), 'NAME = "v1"\n');
    const env = { ...BASE_ENV, PYTHONPATH: lib };
    const spawner = newWarmSpawner({ baseEnv: env, checkIntervalMs: 50, preload: ['json', 'sitelib'] });
    const uses = files.write('uses-lib.py', 'import sitelib\nprint(sitelib.NAME)\n');
    const options = optionsFor(uses, 'shebang', { env: { PYTHONPATH: lib } });
    try {
      await warmUp(spawner, options);
      expect((await runExpecting('warm', spawner, options)).stdout.toString()).toBe('v1\n');
      // Edited in place: the preloaded copy is stale; a cold run would read v2.
      writeFileSync(join(lib, 'sitelib.py'), 'NAME = "v2, longer"\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await runExpecting('cold', spawner, options)).stdout.toString()).toBe('v2, longer\n');
      expect(spawner.stats().coldReasons['zygote stale']).toBe(1);
      await until(() => spawner.stats().zygotes.some((z) => z.state === 'ready'), 'a fresh zygote');
      expect((await runExpecting('warm', spawner, options)).stdout.toString()).toBe('v2, longer\n');
    } finally {
      await spawner.close();
    }
  });

  it('when a sys.path directory changes (a json.py appears in PYTHONPATH): cold, and cold for good while it shadows the zygote’s own json', async () => {
    const lib = join(files.dir, 'lib2');
    mkdirSync(lib);
    const env = { ...BASE_ENV, PYTHONPATH: lib };
    const logger = recordingLogger();
    const spawner = newWarmSpawner({ baseEnv: env, checkIntervalMs: 50 }, logger);
    const uses = files.write('uses-json.py', 'import json\nprint(json.dumps(1))\n');
    const options = optionsFor(uses, 'shebang', { env: { PYTHONPATH: lib } });
    try {
      await warmUp(spawner, options);
      expect((await runExpecting('warm', spawner, options)).stdout.toString()).toBe('1\n');
      writeFileSync(join(lib, 'json.py'), 'def dumps(x):\n    return "shadowed"\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await runExpecting('cold', spawner, options)).stdout.toString()).toBe('shadowed\n');
      await until(() => spawner.stats().zygotes.length === 0, 'the fresh zygote to give up');
      expect(logger.lines.join('\n')).toMatch(/cannot run warm: .*json/);
      expect((await runExpecting('cold', spawner, options)).stdout.toString()).toBe('shadowed\n');
    } finally {
      await spawner.close();
    }
  });
});

describe('stopping', () => {
  it('close() stops the zygotes, even a stopped one, without hanging; later spawns run cold', async () => {
    const spawner = newWarmSpawner();
    await warmUp(spawner, optionsFor(hello, 'shebang'));
    const pid = zygotePid(spawner);
    process.kill(pid, 'SIGSTOP');
    await spawner.close();
    await until(() => !alive(pid), 'the zygote to be gone');
    expect(spawner.stats().zygotes).toEqual([]);
    expect((await runExpecting('cold', spawner, optionsFor(hello, 'shebang'))).stdout.toString()).toBe('hello\n');
  });

  it('close() waits for a running warm child, which finishes normally', async () => {
    const spawner = newWarmSpawner();
    await warmUp(spawner, optionsFor(hello, 'shebang'));
    const pid = zygotePid(spawner);
    const brief = files.write('brief.py', 'import time\ntime.sleep(0.3)\nprint("done")\n');
    const running = run(spawner, optionsFor(brief, 'shebang'));
    await until(() => spawner.stats().warm === 1, 'the warm spawn');
    await spawner.close();
    const result = await running;
    expect(result.exit).toEqual({ code: 0, signal: null });
    expect(result.stdout.toString()).toBe('done\n');
    expect(alive(pid)).toBe(false);
  });

  it('when the gateway process dies, its zygote and the zygote’s running children go too', async () => {
    const slow = files.write('forever.py', 'import time\nprint("up", flush=True)\ntime.sleep(60)\n');
    const program = `
      const { createWarmSpawner } = await import(${JSON.stringify(distUrl('warm-python.js'))});
      const { createChildProcessSpawner } = await import(${JSON.stringify(distUrl('child-process-spawner.js'))});
      const baseEnv = ${JSON.stringify(BASE_ENV)};
      const logger = { debug() {}, info() {}, warn() {}, error() {} };
      const spawner = createWarmSpawner(createChildProcessSpawner(), { baseEnv }, logger);
      const options = { command: ${JSON.stringify(slow)}, args: [], env: baseEnv, cwd: ${JSON.stringify(files.dir)}, script: ${JSON.stringify(slow)} };
      (await spawner.spawn(options)).stdin.end();
      while (!spawner.stats().zygotes.some((z) => z.state === 'ready')) await new Promise((r) => setTimeout(r, 20));
      const proc = await spawner.spawn(options);
      proc.stdin.end();
      proc.stdout.once('data', () => console.log(JSON.stringify({ zygote: spawner.stats().zygotes[0].pid, child: proc.pid })));
      setInterval(() => {}, 1000);
    `;
    const gateway = spawn(process.execPath, ['--input-type=module', '-e', program], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) =>
      gateway.stdout.once('data', (d: Buffer) => resolve(d.toString())),
    );
    const { zygote, child } = JSON.parse(line) as { zygote: number; child: number };
    expect(alive(zygote) && alive(child)).toBe(true);
    const cmdline = readFileSync(`/proc/${zygote}/cmdline`, 'utf8').split('\0');
    const socketDir = dirname((JSON.parse(cmdline[2] as string) as { socket: string }).socket);
    expect(existsSync(socketDir)).toBe(true);
    gateway.kill('SIGKILL');
    await until(() => !alive(zygote), 'the zygote to exit');
    await until(() => !alive(child), 'its child to be killed');
    // Nobody else is left to remove the zygote's private socket directory.
    expect(existsSync(socketDir)).toBe(false);
  });
});

function distUrl(file: string): string {
  return new URL(`../../packages/core/dist/${file}`, import.meta.url).href;
}
