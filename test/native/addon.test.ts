// What only the native spawner promises, or what only it can get wrong: it loads on
// Linux x64, says why when it cannot, keeps the server's inherited descriptors from
// scripts, never hands a shebang-less file to /bin/sh, leaks nothing over many spawns.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import native from '@cgibridge/native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNativeSpawner, loadNativeSpawner } from '../../packages/core/dist/native-spawner.js';
import type { CgiProcess } from '../../packages/core/dist/spawner.js';
import { finish, makeScriptDir, optionsFor, run, type ScriptDir, spawnError } from '../support/spawners.js';

const NATIVE_SPAWNER = fileURLToPath(new URL('../../packages/core/dist/native-spawner.js', import.meta.url));

let scripts: ScriptDir;
beforeAll(() => {
  scripts = makeScriptDir();
});
afterAll(() => scripts.cleanup());

/** Runs an ES module in a fresh Node with the given environment; its stdout, parsed as JSON. */
function inFreshNode(program: string, env: Record<string, string> = {}, wrapper: string[] = []): unknown {
  const node = [process.execPath, '--input-type=module', '-e', program];
  const [command, ...args] = wrapper.length > 0 ? [...wrapper, ...node] : node;
  const result = spawnSync(command as string, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    cwd: fileURLToPath(new URL('.', import.meta.url)),
  });
  if (result.status !== 0) throw new Error(`fresh node failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function openDescriptors(): string[] {
  return readdirSync('/proc/self/fd');
}

/** Zombie children of this process: a spawner that forgot to reap leaves them. */
function zombieChildren(): number[] {
  const zombies: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z' && Number(ppid) === process.pid) zombies.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return zombies;
}

describe('loading', () => {
  it.runIf(process.platform === 'linux' && process.arch === 'x64' && !process.env.CGIBRIDGE_NATIVE_FAULT)(
    'is usable on Linux x64: the repository build compiled the addon (a skipped build fails here)',
    () => {
      expect(native.status).toMatchObject({ usable: true, reason: null });
      expect(native.status.binding).toMatch(/\.node$/);
      expect(loadNativeSpawner().spawner?.name).toBe('native');
    },
  );

  it.each([
    ['platform', /Linux-only/],
    ['no-addon', /no prebuilt addon .* npm run build -w @cgibridge\/native/],
    ['no-pidfd', /pidfd.*ENOSYS.*Linux 5\.4/],
    ['no-clone', /trial spawn failed \(clone: EINVAL\)/],
  ])('reports CGIBRIDGE_NATIVE_FAULT=%s as that reason, and core falls back', (fault, message) => {
    const program = `
      import { createRequire } from 'node:module';
      const { loadNativeSpawner } = await import(${JSON.stringify(NATIVE_SPAWNER)});
      const native = createRequire(import.meta.url)('@cgibridge/native');
      let thrown = null;
      try { native.spawn({ file: '/bin/true', argv: ['true'], env: [], cwd: '/' }, () => {}); }
      catch (error) { thrown = error.code; }
      console.log(JSON.stringify({ status: native.status, load: loadNativeSpawner(), thrown }));
    `;
    const seen = inFreshNode(program, { CGIBRIDGE_NATIVE_FAULT: fault });
    expect(seen).toMatchObject({
      status: { usable: false, reason: fault, message: expect.stringMatching(message), binding: null },
      load: { reason: fault, message: expect.stringMatching(message) },
      thrown: 'ERR_CGIBRIDGE_NATIVE_UNAVAILABLE',
    });
    const unusable = {
      status: { usable: false as const, reason: fault as 'no-addon', message: 'x', binding: null },
      spawnAsync: () => Promise.reject(),
    };
    expect(() => createNativeSpawner(unusable)).toThrow(/not usable/);
  });
});

describe('the process it starts', () => {
  const spawner = createNativeSpawner();

  it('talks to the script over pipes, not socketpairs', async () => {
    const ran = await run(
      spawner,
      optionsFor('/bin/ls', { args: ['-l', '/proc/self/fd/0', '/proc/self/fd/1', '/proc/self/fd/2'] }),
    );
    expect(ran.stdout.match(/-> pipe:\[\d+\]$/gm)).toHaveLength(3);
  });

  it('closes descriptors the server inherited without close-on-exec (child_process passes them on)', () => {
    // The shell hands fds 40 and 41 to Node without close-on-exec, as a careless parent would.
    const program = `
      const { createNativeSpawner } = await import(${JSON.stringify(NATIVE_SPAWNER)});
      const child = await createNativeSpawner().spawn({ command: '/bin/ls', args: ['/proc/self/fd'],
        env: {}, cwd: '/', script: '/bin/ls' });
      child.stdin.end();
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      await child.exit;
      await new Promise((resolve) => child.stdout.on('close', resolve));
      console.log(JSON.stringify(out.split('\\n').filter(Boolean)));
    `;
    const wrapper = ['bash', '-c', 'exec 40</dev/null 41</dev/null && exec "$0" "$@"'];
    // ls lists its own directory fd (3) besides 0, 1 and 2.
    expect(inFreshNode(program, {}, wrapper)).toEqual(['0', '1', '2', '3']);
  });

  it('dies of SIGPIPE when the server closes its stdout early (the default disposition restored)', async () => {
    const child = await spawner.spawn(optionsFor('/usr/bin/yes'));
    child.stdin.end();
    child.stdout.once('data', () => child.stdout.destroy());
    expect(await child.exit).toEqual({ code: null, signal: 'SIGPIPE' });
    child.stderr.resume();
  });

  it('fails with ENOEXEC on an executable without a shebang, and does not hand it to /bin/sh', async () => {
    const marker = join(scripts.dir, 'ran-by-sh');
    const file = scripts.add('no-shebang', `touch ${marker}\necho ran\n`);
    const error = await spawnError(spawner, optionsFor(file));
    expect(error).toMatchObject({ code: 'ENOEXEC', errno: -8, syscall: `spawn ${file}`, path: file });
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a working directory that is a file as ENOTDIR of chdir', async () => {
    const file = scripts.add('plain-file', 'x\n', 0o644);
    const error = await spawnError(spawner, optionsFor('/bin/true', { cwd: file }));
    expect(error).toMatchObject({ code: 'ENOTDIR', syscall: 'chdir', path: file });
  });
});

describe('many spawns', () => {
  it('leaves no zombie and no descriptor behind after 500 spawns, 8 at a time', async () => {
    const spawner = createNativeSpawner();
    const before = openDescriptors();
    const one = async (): Promise<void> => {
      const ran = await finish(await spawner.spawn(optionsFor('/bin/echo', { args: ['x'] })));
      expect(ran.stdout).toBe('x\n');
    };
    for (let round = 0; round < 500 / 8; round++) await Promise.all(Array.from({ length: 8 }, one));
    // A socket closes its fd on the loop turn after 'end': let the closes land.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(zombieChildren()).toEqual([]);
    expect(openDescriptors().length).toBeLessThanOrEqual(before.length);
  });

  it('closes every descriptor of a process the server abandons (destroy, kill)', async () => {
    const spawner = createNativeSpawner();
    const before = openDescriptors().length;
    const children: CgiProcess[] = [];
    for (let i = 0; i < 20; i++) children.push(await spawner.spawn(optionsFor('/bin/sleep', { args: ['30'] })));
    expect(openDescriptors().length).toBeGreaterThanOrEqual(before + 20 * 4);
    for (const child of children) {
      for (const stream of [child.stdin, child.stdout, child.stderr]) stream.destroy();
      child.killGroup('SIGKILL');
    }
    await Promise.all(children.map((child) => child.exit));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(openDescriptors().length).toBeLessThanOrEqual(before);
    expect(zombieChildren()).toEqual([]);
  });
});

describe('worker threads', () => {
  it('spawns from worker threads that then exit, on their thread and on the pool, and stays loaded', () => {
    // Pool threads keep their child stacks in thread-local storage, which an unload would
    // drop (the stacks orphaned). The main thread never loads the addon here, so only its
    // -z nodelete link keeps it mapped after each worker's exit.
    const program = `
      import { Worker } from 'node:worker_threads';
      const body = (how) => \`
        import native from '@cgibridge/native';
        import { closeSync } from 'node:fs';
        const request = { file: '/bin/true', argv: ['true'], env: [], cwd: '/' };
        let left = 4;
        const onExit = (code) => { if (code !== 0) process.exit(1); if (--left === 0) process.exit(0); };
        const adopt = (child) => { for (const fd of [child.stdin, child.stdout, child.stderr]) closeSync(fd); };
        for (let i = 0; i < 4; i++) \${how === 'sync' ? 'adopt(native.spawn(request, onExit))' : 'native.spawnAsync(request, onExit).then(adopt)'};\`;
      const run = (how) => new Promise((resolve, reject) => {
        const worker = new Worker(body(how), { eval: true, stderr: true });
        worker.on('exit', resolve);
        worker.on('error', reject);
      });
      const codes = [];
      for (let i = 0; i < 15; i++) codes.push(await run('sync'), await run('async'));
      const { readFileSync } = await import('node:fs');
      const loaded = readFileSync('/proc/self/maps', 'utf8').includes('cgibridge_native.node');
      console.log(JSON.stringify({ codes, loaded }));`;
    expect(inFreshNode(program)).toEqual({ codes: Array.from({ length: 30 }, () => 0), loaded: true });
  });
});

describe('the addon API', () => {
  it('returns the parent ends as numbers and calls onExit with a signal name', async () => {
    const exit = new Promise<[number | null, string | null]>((resolve) => {
      const child = native.spawn(
        { file: 'sleep', argv: ['sleep', '30'], env: ['PATH=/usr/bin:/bin'], cwd: '/' },
        (code, signal) => resolve([code, signal]),
      );
      expect(child).toEqual({
        pid: expect.any(Number),
        stdin: expect.any(Number),
        stdout: expect.any(Number),
        stderr: expect.any(Number),
      });
      for (const fd of [child.stdin, child.stdout, child.stderr])
        expect(readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^pipe:/);
      process.kill(child.pid, 'SIGTERM');
      for (const fd of [child.stdin, child.stdout, child.stderr]) closeSync(fd);
    });
    expect(await exit).toEqual([null, 'SIGTERM']);
  });

  it.each([
    ['execve', { file: '/nonexistent/x', cwd: '/' }, 'ENOENT', '/nonexistent/x'],
    ['chdir', { file: '/bin/true', cwd: '/nonexistent-dir' }, 'ENOENT', '/nonexistent-dir'],
  ])('spawn throws errno errors naming the failing call: %s', (syscall, request, code, path) => {
    expect(() => native.spawn({ argv: ['x'], env: [], ...request }, () => {})).toThrow(
      expect.objectContaining({ syscall, path, code, message: `${syscall} ${path} ${code}` }),
    );
  });

  it('sizes the stdin and stdout pipes when asked (F_SETPIPE_SZ), stderr keeps the kernel default', async () => {
    const sizes = async (pipeSize?: number, stdoutPipeSize?: number): Promise<string> => {
      let out = '';
      await new Promise<void>((resolve) => {
        const program = 'import fcntl; print(fcntl.fcntl(0, 1032), fcntl.fcntl(1, 1032), fcntl.fcntl(2, 1032))';
        const child = native.spawn(
          {
            file: 'python3',
            argv: ['python3', '-c', program],
            env: ['PATH=/usr/bin:/bin'],
            cwd: '/',
            pipeSize,
            stdoutPipeSize,
          },
          () => {},
        );
        closeSync(child.stdin);
        closeSync(child.stderr);
        const stdout = new Socket({ fd: child.stdout, readable: true, writable: false });
        stdout.on('data', (d: Buffer) => {
          out += d;
        });
        stdout.on('close', () => resolve());
      });
      return out.trim();
    };
    expect(await sizes()).toBe('65536 65536 65536');
    expect(await sizes(1024 * 1024)).toBe('1048576 65536 65536');
    expect(await sizes(undefined, 256 * 1024)).toBe('65536 262144 65536');
    expect(await sizes(1024 * 1024, 1024 * 1024)).toBe('1048576 1048576 65536');
  });

  it('starts on the thread pool with spawnAsync, with the same errors', async () => {
    const exited = new Promise<number | null>((resolve) => {
      void native
        .spawnAsync({ file: '/bin/sh', argv: ['sh', '-c', 'exit 7'], env: [], cwd: '/' }, (code) => resolve(code))
        .then((child) => {
          for (const fd of [child.stdin, child.stdout, child.stderr]) closeSync(fd);
        });
    });
    expect(await exited).toBe(7);
    await expect(
      native.spawnAsync({ file: 'nope-xyz', argv: ['nope-xyz'], env: [], cwd: '/' }, () => {}),
    ).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'execve',
      path: 'nope-xyz',
    });
  });

  it.each([
    [{ file: 'a\0b', argv: [], env: [], cwd: '/' }, /null bytes/],
    [{ file: '/bin/true', argv: [1], env: [], cwd: '/' }, /request\.argv\[0\] must be a string/],
    [{ file: '/bin/true', argv: [], env: [], cwd: '/', rlimits: { cpu: -1 } }, /rlimits.cpu/],
    [{ file: '/bin/true', argv: [], env: [], cwd: '/', uid: 1.5 }, /uid/],
  ])('rejects a malformed request without starting anything: %j', (request, message) => {
    // biome-ignore lint/suspicious/noExplicitAny: malformed on purpose
    expect(() => native.spawn(request as any, () => {})).toThrow(message);
  });
});
