// The spawner contract, checked for the native spawner and, as a parity check, for
// child_process: whatever holds for one must hold for the other.
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { listInheritedDescriptors } from '@cgibridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeScriptDir,
  optionsFor,
  run,
  SCRIPT_PATH,
  type ScriptDir,
  spawnError,
  spawnersUnderTest,
} from '../support/spawners.js';

let scripts: ScriptDir;
beforeAll(() => {
  scripts = makeScriptDir();
});
afterAll(() => scripts.cleanup());

/** The bits of a /proc/<pid>/status mask line, as a number. */
function statusMask(status: string, field: string): bigint {
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`));
  return BigInt(`0x${line?.split(/\s+/)[1] ?? 'ffff'}`);
}

/** Waits (bounded) for a condition that the kernel makes true asynchronously. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`still not true after 10 s: ${what}`);
}

describe.each(spawnersUnderTest())('%s spawner', (_name, spawner) => {
  it('runs a program with its arguments, stdout and stderr apart, and reports the exit code', async () => {
    const file = scripts.add('hello', '#!/bin/sh\nprintf "hello %s\\n" "$1"\necho oops >&2\nexit 3\n');
    const ran = await run(spawner, optionsFor(file, { args: ['world'] }));
    expect(ran).toMatchObject({ stdout: 'hello world\n', stderr: 'oops\n', exit: { code: 3, signal: null } });
  });

  it('gives the script EOF on stdin when the server ends it', async () => {
    const file = scripts.add('cat-end', '#!/bin/sh\ncat\necho END\n');
    const ran = await run(spawner, optionsFor(file), 'the body\n');
    expect(ran.stdout).toBe('the body\nEND\n');
  });

  it('holds a fast writer back while the reader is paused (back-pressure, bounded buffering)', async () => {
    const bytes = 32 * 1024 * 1024;
    const child = await spawner.spawn(optionsFor('/usr/bin/head', { args: ['-c', String(bytes), '/dev/zero'] }));
    child.stdin.end();
    let exited = false;
    void child.exit.then(() => {
      exited = true;
    });
    let received = 0;
    let maxBuffered = 0;
    let paused = false;
    for await (const chunk of child.stdout) {
      received += (chunk as Buffer).length;
      maxBuffered = Math.max(maxBuffered, child.stdout.readableLength);
      if (!paused && received > 1024 * 1024) {
        // Stop reading for a while: the writer must block on the full pipe, not run ahead into memory.
        paused = true;
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(exited).toBe(false);
      }
    }
    expect(received).toBe(bytes);
    expect(maxBuffered).toBeLessThan(1024 * 1024);
    expect(await child.exit).toEqual({ code: 0, signal: null });
  });

  it('gives the script exactly three descriptors (child_process: plus those the server inherited)', async () => {
    const file = scripts.add(
      'fds.py',
      '#!/usr/bin/env python3\nimport os\nprint(" ".join(n for n in os.listdir("/proc/self/fd") if os.path.exists("/proc/self/fd/" + n)))\n',
    );
    const ran = await run(spawner, optionsFor(file));
    // Node leaves the descriptors it inherited without close-on-exec open, and libuv passes them on.
    const leaked = spawner.name === 'native' ? [] : listInheritedDescriptors().map(String);
    expect(ran.stdout.trim().split(' ').sort()).toEqual(['0', '1', '2', ...leaked].sort());
  });

  it('starts the script with an empty signal mask and no ignored signal, though Node ignores SIGPIPE', async () => {
    // Node ignores SIGPIPE (bit 13): a disposition that would survive exec if nobody reset it.
    expect(statusMask(readFileSync('/proc/self/status', 'utf8'), 'SigIgn') & (1n << 12n)).not.toBe(0n);
    const ran = await run(spawner, optionsFor('/bin/cat', { args: ['/proc/self/status'] }));
    expect(statusMask(ran.stdout, 'SigBlk')).toBe(0n);
    expect(statusMask(ran.stdout, 'SigIgn')).toBe(0n);
  });

  it('makes the script the leader of a new session and process group (pgid == sid == pid)', async () => {
    const ran = await run(spawner, optionsFor('/bin/cat', { args: ['/proc/self/stat'] }));
    // pid (comm) state ppid pgrp session ...: comm is "cat", no spaces.
    const [pid, , , , pgrp, session] = ran.stdout.split(' ').map(Number);
    expect(pid).toBe(ran.pid);
    expect(pgrp).toBe(ran.pid);
    expect(session).toBe(ran.pid);
  });

  it('runs the script in its working directory', async () => {
    const ran = await run(spawner, optionsFor('/bin/pwd', { args: ['-P'], cwd: scripts.dir }));
    expect(ran.stdout.trim()).toBe(realpathSync(scripts.dir));
  });

  it("finds a bare command name in the script's PATH, not the server's", async () => {
    const bin = join(scripts.dir, 'private-bin');
    mkdirSync(bin, { recursive: true });
    scripts.add('private-bin/cgibridge-only-here', '#!/bin/sh\necho found-in-child-path\n');
    expect(process.env.PATH ?? '').not.toContain(bin);
    const ran = await run(spawner, optionsFor('cgibridge-only-here', { env: { PATH: `${bin}:${SCRIPT_PATH}` } }));
    expect(ran.stdout).toBe('found-in-child-path\n');
  });

  it.each([
    ['a missing program (path)', () => '/nonexistent/cgibridge-prog'],
    ['a missing program (PATH lookup)', () => 'cgibridge-no-such-program'],
    ['a missing shebang interpreter', () => scripts.add('no-interp', '#!/usr/bin/cgibridge-no-such-interpreter\n')],
    ['a CRLF shebang', () => scripts.add('crlf', '#!/bin/sh\r\necho ran\r\n')],
  ])('reports %s as ENOENT', async (_what, file) => {
    const error = await spawnError(spawner, optionsFor(file()));
    expect(error.code).toBe('ENOENT');
    expect(error.syscall).toMatch(/^spawn /);
  });

  it('reports a file without execute permission as EACCES', async () => {
    const file = scripts.add('not-executable', '#!/bin/sh\necho ran\n', 0o644);
    const error = await spawnError(spawner, optionsFor(file));
    expect(error).toMatchObject({ code: 'EACCES', path: file });
  });

  it('reports a missing working directory as such, not as a missing program', async () => {
    const cwd = join(scripts.dir, 'gone');
    const error = await spawnError(spawner, optionsFor('/bin/true', { cwd }));
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'chdir', path: cwd });
  });

  it('applies resource limits before the program runs (visible in /proc/self/limits)', async () => {
    const ran = await run(
      spawner,
      optionsFor('/bin/cat', {
        args: ['/proc/self/limits'],
        limits: { cpuSeconds: 7, memoryBytes: 1_000_000_000, processes: 50 },
      }),
    );
    expect(ran.stdout).toMatch(/^Max cpu time +7 +8 +seconds/m);
    expect(ran.stdout).toMatch(/^Max address space +1000000000 +1000000000 +bytes/m);
    expect(ran.stdout).toMatch(/^Max processes +50 +50 +processes/m);
  });

  it('kills a busy loop at its CPU limit', async () => {
    const file = scripts.add('spin', '#!/bin/sh\nwhile :; do :; done\n');
    const ran = await run(spawner, optionsFor(file, { limits: { cpuSeconds: 1 } }));
    expect(['SIGXCPU', 'SIGKILL']).toContain(ran.exit.signal);
  });

  it('makes an allocation over the address-space limit fail', async () => {
    const file = scripts.add(
      'alloc.py',
      '#!/usr/bin/env python3\ntry:\n    b = bytearray(512 * 1024 * 1024)\n    print("allocated")\nexcept MemoryError:\n    print("MemoryError")\n',
    );
    const unlimited = await run(spawner, optionsFor(file));
    expect(unlimited.stdout).toBe('allocated\n');
    const limited = await run(spawner, optionsFor(file, { limits: { memoryBytes: 256 * 1024 * 1024 } }));
    expect(limited.stdout).toBe('MemoryError\n');
  });

  it.runIf(process.getuid?.() === 0)('switches to another user and group, dropping supplementary groups', async () => {
    const nobody = { uid: 65534, gid: 65534 };
    const ran = await run(
      spawner,
      optionsFor('/bin/cat', { args: ['/proc/self/status'], cwd: '/', credentials: nobody }),
    );
    expect(ran.stdout).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(ran.stdout).toMatch(/^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(ran.stdout).toMatch(/^Groups:\s*$/m);
  });

  it('kills the whole process group, background children included', async () => {
    const file = scripts.add('background', '#!/bin/sh\nsleep 300 &\necho $!\nwait\n');
    const child = await spawner.spawn(optionsFor(file));
    child.stdin.end();
    const line = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(String(d))));
    const background = Number(line.trim());
    expect(existsSync(`/proc/${background}`)).toBe(true);
    child.killGroup('SIGKILL');
    expect(await child.exit).toEqual({ code: null, signal: 'SIGKILL' });
    await eventually(() => !child.groupAlive(), 'the group is empty');
    child.stdout.destroy();
    child.stderr.destroy();
  });

  it('lets the server close a pipe early: destroy() closes the fd, and the writer stops', async () => {
    const child = await spawner.spawn(optionsFor('/usr/bin/yes'));
    child.stdin.end();
    child.stdout.once('data', () => child.stdout.destroy());
    // On a pipe yes dies of SIGPIPE; on child_process's socketpair its write fails (ECONNRESET).
    expect(await child.exit).not.toEqual({ code: 0, signal: null });
    child.stderr.resume();
  });
});
