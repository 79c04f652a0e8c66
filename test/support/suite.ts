import { readdirSync, readFileSync } from 'node:fs';
import type { CgiOptions } from '@cgibridge/core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { makeScriptRoot, type ScriptRoot } from './fixtures.js';
import { type Adapter, adapters, type TestServer } from './servers.js';

/** What a conformance test sees: the server, its script root and URL helpers. */
export interface SuiteContext {
  readonly adapter: Adapter;
  readonly server: TestServer;
  readonly root: ScriptRoot;
  /** `origin + path`. */
  url(path: string): string;
  /** Starts an extra server with other options (closed after the file). */
  start(options: Partial<CgiOptions>, extras?: { guard?: string }): Promise<TestServer>;
}

/** Default gateway options for the fixtures: mounted at /cgi-bin. */
export function defaultOptions(root: ScriptRoot): CgiOptions {
  const warm = process.env.CGIBRIDGE_TEST_WARM;
  return {
    root: root.root,
    mountPath: '/cgi-bin',
    timeout: 10_000,
    killGrace: 500,
    ...(warm === undefined ? {} : { warm: { [warm]: true } }),
  };
}

/**
 * Runs `body` once per adapter (node:http, and Express/Koa once they exist), each
 * against its own real server on 127.0.0.1 and its own copy of the fixture scripts.
 */
export function conformance(title: string, body: (ctx: SuiteContext) => void, extra: Partial<CgiOptions> = {}): void {
  describe.each(adapters.map((adapter) => [adapter.name, adapter] as const))(`${title} [%s]`, (_name, adapter) => {
    let server: TestServer | undefined;
    let root: ScriptRoot | undefined;
    const others: TestServer[] = [];
    beforeAll(async () => {
      root = makeScriptRoot();
      server = await adapter.start({ ...defaultOptions(root), ...extra });
    });
    afterAll(async () => {
      await Promise.all([server, ...others].map((s) => s?.close()));
      root?.cleanup();
    });
    const ctx: SuiteContext = {
      adapter,
      get server() {
        return server as TestServer;
      },
      get root() {
        return root as ScriptRoot;
      },
      url: (path) => `${(server as TestServer).origin}${path}`,
      async start(options, extras) {
        const started = await adapter.start({ ...defaultOptions(root as ScriptRoot), ...options }, extras);
        others.push(started);
        return started;
      },
    };
    body(ctx);
  });
}

/** Is a process alive (and not a zombie)? */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name, is the state.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Polls until `check` holds, or fails after `ms` (a bound on waiting, not a timing assertion). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 8000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Reads a pid file a fixture script wrote, once it exists. */
export async function readPids(path: string): Promise<number[]> {
  let text = '';
  await eventually(
    () => {
      try {
        text = readFileSync(path, 'utf8');
        return text.trim().split(/\s+/).length >= 1 && text.endsWith('\n');
      } catch {
        return false;
      }
    },
    8000,
    `pid file ${path}`,
  );
  return text.trim().split(/\s+/).map(Number);
}

/** Children of this process that are zombies (never reaped). */
export function zombieChildren(): number[] {
  const zombies: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === process.pid) zombies.push(Number(entry));
    } catch {
      // the process went away meanwhile
    }
  }
  return zombies;
}

/**
 * An error response as every adapter must give it: the status, and a short generic body
 * (each framework renders its own page) with no path, stack, source or secret in it.
 */
export function expectGenericError(
  reply: { status: number; text: string; headers: Record<string, unknown> },
  status: number,
  root: string,
): void {
  expect(reply.status).toBe(status);
  expect(reply.text.length).toBeLessThan(400);
  for (const leak of [root, '/tmp/', '    at ', 'node:internal', 'SOURCE', 'SECRET', 'TOP-SECRET', '#!/']) {
    expect(reply.text).not.toContain(leak);
    expect(JSON.stringify(reply.headers)).not.toContain(leak);
  }
}
