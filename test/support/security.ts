import type { CgiOptions } from '@cgibridge/core';
import { afterEach, expect } from 'vitest';
import { type Reply, type RequestOptions, rawRequest, request } from './http.js';
import { conformance, type SuiteContext } from './suite.js';

/** What must never appear in any response: script source, secrets, stack frames, server paths. */
const LEAKS = [
  'TOP-SECRET-DATA-FILE',
  'SOURCE-OF-',
  'OUTSIDE-SCRIPT-RAN',
  'HIDDEN-SCRIPT-RAN',
  'CRLF-SOURCE',
  'SECRET-BODY',
  'canary-7d2f',
  '#!/',
  '    at ',
  'node:internal',
];
const PATHS = '/tmp/cgibridge-test-';

/**
 * Fails if a response carries anything it must not. `echo` marks a script that prints
 * its own environment on purpose: its paths (SCRIPT_FILENAME, ...) are then its business.
 */
export function expectNoLeak(text: string, headers: unknown = {}, echo = false): void {
  const all = `${text}\n${JSON.stringify(headers)}`;
  for (const leak of echo ? LEAKS : [...LEAKS, PATHS]) {
    expect(all, `response leaks ${JSON.stringify(leak)}`).not.toContain(leak);
  }
}

const ECHOING = /\/cgi-bin\/(env\.(py|pl|sh)|sub\/deep\.pl|bash-env\.sh)/;

/** A conformance context with probes that check every response for leaks. */
export interface SecurityContext extends SuiteContext {
  probe(path: string, options?: RequestOptions, origin?: string): Promise<Reply>;
  raw(data: string | Buffer, port?: number): Promise<string>;
  /** Scripts spawned so far by the main server. */
  spawned(): number;
}

/**
 * Runs an adversarial group against every adapter. After each case the server must still
 * answer a plain request, and no response may leak source, secrets, stacks or paths.
 */
export function securityGroup(
  title: string,
  body: (ctx: SecurityContext) => void,
  extra: Partial<CgiOptions> = {},
): void {
  process.env.CGIBRIDGE_CANARY = 'canary-7d2f';
  conformance(
    title,
    (ctx) => {
      afterEach(async () => {
        const alive = await request(ctx.url('/cgi-bin/hello.sh'));
        expect(alive.status, 'the server still answers').toBe(200);
        expect(alive.text).toBe('hello from sh\n');
      });
      const security = Object.assign(Object.create(ctx) as SuiteContext, {
        async probe(path: string, options?: RequestOptions, origin?: string) {
          const reply = await request(`${origin ?? ctx.server.origin}${path}`, options);
          const echo = ECHOING.test(path) && reply.status === 200;
          expectNoLeak(reply.text, reply.headers, echo);
          if (!echo) expect(reply.text).not.toContain(ctx.root.root);
          return reply;
        },
        async raw(data: string | Buffer, port?: number) {
          const reply = await rawRequest(port ?? ctx.server.port, data);
          const echo = ECHOING.test(String(data).split('\r\n')[0] ?? '') && / 200 /.test(reply.split('\r\n')[0] ?? '');
          expectNoLeak(reply, {}, echo);
          if (!echo) expect(reply).not.toContain(ctx.root.root);
          return reply;
        },
        spawned: () => ctx.server.events.filter((event) => event.type === 'spawn').length,
      }) as SecurityContext;
      body(security);
    },
    extra,
  );
}
