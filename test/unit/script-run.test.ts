import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import {
  type CgiDocumentResult,
  type CgiEvent,
  type CgiExit,
  type CgiGateway,
  type CgiProcess,
  type CgiRedirectChain,
  type CgiRequest,
  type CgiSpawner,
  createCgiGateway,
  localRequest,
} from '@cgibridge/core';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryLogger } from '../support/servers.js';

/** A process double: PassThrough stdio, an exit the test triggers, signals recorded, never a real kill. */
class FakeProcess implements CgiProcess {
  static next = 90_000;
  readonly pid = FakeProcess.next++;
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly signals: string[] = [];
  /** Whether anything of its process group is left (a background job). */
  alive = true;
  readonly exit: Promise<CgiExit>;
  #exited: (exit: CgiExit) => void = () => {};

  constructor() {
    this.exit = new Promise((resolve) => {
      this.#exited = resolve;
    });
  }
  killGroup(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }
  groupAlive(): boolean {
    return this.alive;
  }
  /** The script prints `text` and, unless told otherwise, closes stdout and stderr. */
  print(text: string): void {
    this.stdout.write(text);
  }
  end(): void {
    this.stdout.end();
    this.stderr.end();
  }
  exitWith(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.#exited({ code, signal });
  }
}

const root = mkdtempSync(join(tmpdir(), 'cgibridge-run-'));
writeFileSync(join(root, 'x.sh'), '#!/bin/sh\n');
chmodSync(join(root, 'x.sh'), 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

let processes: FakeProcess[];
let events: CgiEvent[];
let logger: MemoryLogger;
let gateway: CgiGateway;
/** Set to make the next spawns fail. */
let spawnFailure: Error | undefined;
/** Set to hold the next spawns until it settles; `spawnCalls` counts the calls. */
let spawnGate: Promise<void> | undefined;
let spawnCalls = 0;
const spawner: CgiSpawner = {
  name: 'fake',
  async spawn() {
    spawnCalls++;
    await spawnGate;
    if (spawnFailure !== undefined) throw spawnFailure;
    const process = new FakeProcess();
    processes.push(process);
    return process;
  },
  async close() {},
};

function start(options: { timeout?: number; killGrace?: number; maxConcurrent?: number } = {}): void {
  gateway = createCgiGateway({
    root,
    spawner,
    logger,
    timeout: 1000,
    killGrace: 200,
    ...options,
    onEvent: (e) => events.push(e),
  });
}

function requestFor(method = 'GET'): CgiRequest & { controller: AbortController } {
  const controller = new AbortController();
  const request = localRequest({ target: '/x.sh', method, signal: controller.signal, id: 'r1' });
  return Object.assign(request, { controller });
}

/** Runs a request until its process exists. */
async function begin(method = 'GET') {
  const request = requestFor(method);
  const before = processes.length;
  const result = gateway.run(request);
  result.catch(() => {});
  await until(() => expect(processes.length).toBe(before + 1));
  return { request, result, process: processes.at(-1) as FakeProcess };
}

/** A first hop that answers with a local redirect; `ended`: its script then exits and its run ends. */
async function redirectChain({ ended }: { ended: boolean }): Promise<CgiRedirectChain> {
  const first = await begin();
  first.process.print('Location: /x.sh\n\n');
  const redirect = await first.result;
  if (redirect?.kind !== 'local-redirect') throw new Error(`expected a local redirect, got ${redirect?.kind}`);
  if (ended) {
    first.process.end();
    first.process.exitWith(0);
    await until(() => expect(gateway.running).toBe(0));
  }
  return redirect.chain;
}

/** The script of a started run answers 204 and exits. */
async function answer(process: FakeProcess, result: Promise<unknown>): Promise<void> {
  process.print('Status: 204\n\n');
  await result;
  process.end();
  process.exitWith(0);
}

function collect(body: Readable): Promise<{ text: string; error: Error | undefined }> {
  return new Promise((resolve) => {
    let text = '';
    body.on('data', (chunk: Buffer) => {
      text += chunk;
    });
    body.once('end', () => resolve({ text, error: undefined }));
    body.once('error', (error) => resolve({ text, error }));
  });
}

const ended = () => events.find((event) => event.type === 'end');

/**
 * Lets I/O callbacks and promises run until `check` passes, without moving the fake clock
 * (vi.waitFor would advance it, firing the very timers under test).
 */
async function until(check: () => void): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      check();
      return;
    } catch (error) {
      if (i === 2000) throw error;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

beforeEach(() => {
  spawnFailure = undefined;
  spawnGate = undefined;
  spawnCalls = 0;
  processes = [];
  events = [];
  logger = new MemoryLogger();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ScriptRun (a fake process, fake timers)', () => {
  it('timeout before the headers: 504, SIGTERM to the group, SIGKILL after killGrace, slot held until exit', async () => {
    start();
    const { result, process } = await begin();
    await vi.advanceTimersByTimeAsync(1000);
    await expect(result).rejects.toMatchObject({ code: 'ERR_CGI_TIMEOUT', status: 504 });
    expect(process.signals).toEqual(['SIGTERM']);
    expect(gateway.running).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(process.signals).toEqual(['SIGTERM', 'SIGKILL']);
    process.end();
    process.exitWith(null, 'SIGKILL');
    await until(() => expect(gateway.running).toBe(0));
    expect(ended()).toMatchObject({ status: 504, errorCode: 'ERR_CGI_TIMEOUT', signal: 'SIGKILL' });
  });

  it('timeout after the headers: the body errors (never looks complete) and the group is killed', async () => {
    start();
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\n\npart');
    const { body } = (await result) as CgiDocumentResult;
    const reading = collect(body as Readable);
    await vi.advanceTimersByTimeAsync(1000);
    const { text, error } = await reading;
    expect(text).toBe('part');
    expect(error).toMatchObject({ code: 'ERR_CGI_TIMEOUT' });
    expect(process.signals[0]).toBe('SIGTERM');
  });

  it.each(['head', 'body'] as const)('client gone in the %s phase: killed, reported 499', async (phase) => {
    start();
    const { request, result, process } = await begin();
    let body: Readable | null = null;
    if (phase === 'body') {
      process.print('Content-Type: text/plain\n\nx');
      body = ((await result) as CgiDocumentResult).body;
      body?.resume();
    }
    request.controller.abort();
    if (phase === 'head') await expect(result).rejects.toMatchObject({ code: 'ERR_CGI_CLIENT_GONE' });
    else await until(() => expect(body?.destroyed).toBe(true));
    expect(process.signals).toEqual(['SIGTERM']);
    process.end();
    process.exitWith(null, 'SIGTERM');
    await until(() => expect(ended()).toMatchObject({ errorCode: 'ERR_CGI_CLIENT_GONE' }));
  });

  it('client gone after a local redirect: the lingering hop is killed too', async () => {
    start();
    const { request, result, process } = await begin();
    process.print('Location: /elsewhere\n\n');
    expect(await result).toMatchObject({ kind: 'local-redirect', location: '/elsewhere' });
    request.controller.abort();
    expect(process.signals).toEqual(['SIGTERM']);
  });

  it('a redirect hop that starts after the previous hop ended takes the slot again, under the cap, and frees it once', async () => {
    start({ maxConcurrent: 1 });
    const chain = await redirectChain({ ended: true });
    const hop = () => gateway.run(localRequest({ target: '/x.sh', id: 'r2', chain }));
    // Another request took the freed slot meanwhile: the hop counts, so it is refused.
    const other = await begin();
    hop().catch(() => {});
    await until(() => expect(events.at(-1)).toMatchObject({ type: 'end', status: 503, errorCode: 'ERR_CGI_BUSY' }));
    expect(processes).toHaveLength(2);
    await answer(other.process, other.result);
    await until(() => expect(gateway.running).toBe(0));
    // With the slot free, the hop takes it, and gives it back exactly once.
    const result = hop();
    await until(() => expect(gateway.running).toBe(1));
    await answer(processes.at(-1) as FakeProcess, result);
    await until(() => expect(events.filter((e) => e.type === 'end' && e.status === 204)).toHaveLength(2));
    expect(gateway.running).toBe(0);
  });

  it('a chain that re-enters another gateway counts against that gateway, not the first', async () => {
    start({ maxConcurrent: 1 });
    const other = createCgiGateway({ root, spawner, logger, maxConcurrent: 1 });
    // The first hop still runs, holding the first gateway's only slot.
    const chain = await redirectChain({ ended: false });
    const result = other.run(localRequest({ target: '/x.sh', id: 'r2', chain }));
    await until(() => expect(processes).toHaveLength(2));
    expect({ first: gateway.running, other: other.running }).toEqual({ first: 1, other: 1 });
    await answer(processes[1] as FakeProcess, result);
    (processes[0] as FakeProcess).end();
    (processes[0] as FakeProcess).exitWith(0);
    await until(() => expect({ first: gateway.running, other: other.running }).toEqual({ first: 0, other: 0 }));
  });

  it('a hop whose spawn fails, or whose client left, gives back what it took', async () => {
    start({ maxConcurrent: 1 });
    const chain = await redirectChain({ ended: true });
    const gone = new AbortController();
    gone.abort();
    await expect(gateway.run(localRequest({ target: '/x.sh', chain, signal: gone.signal }))).rejects.toMatchObject({
      code: 'ERR_CGI_CLIENT_GONE',
    });
    expect(gateway.running).toBe(0);
    spawnFailure = new Error('spawn failed');
    await expect(gateway.run(localRequest({ target: '/x.sh', chain }))).rejects.toMatchObject({
      code: 'ERR_CGI_SPAWN',
    });
    expect(gateway.running).toBe(0);
    // Nothing was freed twice: the slot is still there to take, once.
    spawnFailure = undefined;
    const other = await begin();
    expect(gateway.running).toBe(1);
    await answer(other.process, other.result);
    await until(() => expect(gateway.running).toBe(0));
  });

  it('close() waits for a spawn in flight, kills the script it starts, and refuses new requests', async () => {
    start();
    let open = () => {};
    spawnGate = new Promise((resolve) => {
      open = resolve;
    });
    const inFlight = gateway.run(requestFor());
    inFlight.catch(() => {});
    await until(() => expect(spawnCalls).toBe(1));
    let closed = false;
    const closing = gateway.close().then(() => {
      closed = true;
    });
    open();
    await until(() => expect(processes).toHaveLength(1));
    const process = processes[0] as FakeProcess;
    await until(() => expect(process.signals).toEqual(['SIGTERM']));
    expect(closed).toBe(false);
    process.alive = false;
    process.end();
    process.exitWith(null, 'SIGTERM');
    await closing;
    // Refused, not blamed on the script (a 502 "killed by SIGTERM").
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_CGI_BUSY', status: 503 });
    await expect(gateway.run(requestFor())).rejects.toMatchObject({ code: 'ERR_CGI_BUSY', status: 503 });
    expect(spawnCalls).toBe(1);
  });

  it('close() does not wait past killGrace for a spawn that never settles', async () => {
    start();
    spawnGate = new Promise(() => {});
    gateway.run(requestFor()).catch(() => {});
    await until(() => expect(spawnCalls).toBe(1));
    let closed = false;
    void gateway.close().then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(199);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => expect(closed).toBe(true));
  });

  it('close() ends a response a stalled client stopped reading, even with no timeout', async () => {
    start({ timeout: Number.POSITIVE_INFINITY });
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\n\n');
    const reply = await result;
    if (reply?.kind !== 'document' || reply.body === null) throw new Error('expected a document with a body');
    // Nobody reads the body: the output backs up until the run pauses the script's stdout.
    for (let i = 0; i < 64; i++) process.print('x'.repeat(64 * 1024));
    await until(() => expect(process.stdout.isPaused()).toBe(true));
    let closed = false;
    const closing = gateway.close().then(() => {
      closed = true;
    });
    await until(() => expect(process.signals).toEqual(['SIGTERM']));
    process.alive = false;
    process.end();
    process.exitWith(null, 'SIGTERM');
    await until(() => expect(closed).toBe(true));
    await closing;
  });

  it('close() while a response streams aborts it: a killed script must not look complete', async () => {
    start();
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\n\npart');
    const reply = await result;
    if (reply?.kind !== 'document' || reply.body === null) throw new Error('expected a document with a body');
    const received = collect(reply.body);
    const closing = gateway.close();
    await until(() => expect(process.signals).toEqual(['SIGTERM']));
    process.alive = false;
    process.end();
    process.exitWith(null, 'SIGTERM');
    await closing;
    expect((await received).error).toMatchObject({ code: 'ERR_CGI_BUSY' });
  });

  it('close() while a chunked body is still being read: the script never starts (503)', async () => {
    start();
    const body = new PassThrough();
    const request = localRequest({
      target: '/x.sh',
      method: 'POST',
      rawHeaders: ['Host', 'localhost', 'Transfer-Encoding', 'chunked'],
      body,
    });
    const result = gateway.run(request);
    result.catch(() => {});
    body.write('half');
    await gateway.close();
    body.end(' of it');
    await expect(result).rejects.toMatchObject({ code: 'ERR_CGI_BUSY', status: 503 });
    expect(spawnCalls).toBe(0);
  });

  it('stdout ends before the header block: 502 naming the exit status', async () => {
    start();
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\n');
    process.exitWith(3);
    process.end();
    await expect(result).rejects.toMatchObject({ code: 'ERR_CGI_NO_HEADERS' });
    expect(logger.text()).toMatch(/exited with status 3 before ending its header block/);
  });

  it('exit while a background job holds stdout: output forwarded, then after killGrace the group killed and the body ended cleanly', async () => {
    start();
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\n\nbefore\n');
    const reading = collect(((await result) as CgiDocumentResult).body as Readable);
    process.exitWith(0);
    await vi.advanceTimersByTimeAsync(100);
    process.print('late\n');
    expect(gateway.running).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(await reading).toEqual({ text: 'before\nlate\n', error: undefined });
    expect(process.signals).toEqual(['SIGTERM']);
    expect(process.stdout.destroyed).toBe(true);
    await until(() => expect(gateway.running).toBe(0));
    expect(logger.text()).toMatch(/a background process still held the output 200 ms after the script exited/);
  });

  it('a job that escaped the group holds stdout: no signal for it, our end closed, the slot freed', async () => {
    start();
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\n\nanswer\n');
    const reading = collect(((await result) as CgiDocumentResult).body as Readable);
    process.alive = false;
    process.exitWith(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(await reading).toEqual({ text: 'answer\n', error: undefined });
    expect(process.signals).toEqual([]);
    await until(() => expect(gateway.running).toBe(0));
    expect(logger.text()).toMatch(/left the script's process group/);
  });

  it('a slow client is no background job: output still unread when the script exits is all sent', async () => {
    start();
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\n\n');
    const body = ((await result) as CgiDocumentResult).body as Readable;
    // More than the response's buffers take: the rest waits in the "pipe", stdout paused.
    const output = 'x'.repeat(256 * 1024);
    process.print(output);
    process.alive = false;
    process.exitWith(0);
    await vi.advanceTimersByTimeAsync(800); // the client reads nothing for four times killGrace
    expect(process.stdout.destroyed).toBe(false);
    const reading = collect(body);
    process.end();
    expect(await reading).toEqual({ text: output, error: undefined });
    await until(() => expect(gateway.running).toBe(0));
    expect(logger.text()).not.toMatch(/still held the output/);
  });

  it('a declared Content-Length left unmet when the linger ends: the body errors', async () => {
    start();
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\nContent-Length: 10\n\nshort');
    const reading = collect(((await result) as CgiDocumentResult).body as Readable);
    process.exitWith(0);
    await vi.advanceTimersByTimeAsync(200);
    expect((await reading).error).toMatchObject({ code: 'ERR_CGI_RESPONSE_LENGTH' });
  });

  it('releases the slot only when the response is settled and the process is done, then reports the end once', async () => {
    start();
    const { result, process } = await begin();
    process.print('Content-Type: text/plain\n\nhello');
    const reading = collect(((await result) as CgiDocumentResult).body as Readable);
    process.end();
    await reading;
    expect(gateway.running).toBe(1);
    expect(ended()).toBeUndefined();
    process.exitWith(0);
    await until(() => expect(gateway.running).toBe(0));
    expect(events.filter((event) => event.type === 'end')).toHaveLength(1);
    expect(ended()).toMatchObject({ status: 200, exitCode: 0, bytesOut: 5, client: '127.0.0.1' });
  });

  it('never sends a pending SIGKILL to a process group whose pid a newer script took', async () => {
    start();
    const first = await begin();
    await vi.advanceTimersByTimeAsync(1000);
    expect(first.process.signals).toEqual(['SIGTERM']);
    first.process.end();
    first.process.exitWith(null, 'SIGTERM');
    await until(() => expect(gateway.running).toBe(0));
    // The kernel gives the old pid to the next script (pid_max is 32768 on many machines).
    FakeProcess.next = first.process.pid;
    const second = await begin();
    expect(second.process.pid).toBe(first.process.pid);
    await vi.advanceTimersByTimeAsync(200);
    expect(first.process.signals).toEqual(['SIGTERM']);
    expect(second.process.signals).toEqual([]);
  });

  it('HEAD, 204 and 304 have no body; the output is drained so the script can finish', async () => {
    start();
    const { result, process } = await begin('HEAD');
    process.print('Content-Type: text/plain\n\nignored');
    expect(await result).toMatchObject({ status: 200, body: null });
    process.end();
    process.exitWith(0);
    await until(() => expect(gateway.running).toBe(0));
  });
});
