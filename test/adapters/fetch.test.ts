import { type CgiEvent, createCgiFetchHandler } from '@cgibridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeScriptRoot, type ScriptRoot } from '../support/fixtures.js';
import { MemoryLogger } from '../support/servers.js';
import { alive, eventually, readPids } from '../support/suite.js';

type Env = { env: Record<string, string> };
let root: ScriptRoot;
beforeAll(() => {
  root = makeScriptRoot();
});
afterAll(() => root.cleanup());

/** A handler called with plain `Request`s, as a runtime without Node's request would. */
function handler(options: Partial<Parameters<typeof createCgiFetchHandler>[0]> = {}) {
  const logger = new MemoryLogger();
  return { logger, cgi: createCgiFetchHandler({ root: root.root, mountPath: '/cgi-bin', logger, ...options }) };
}

describe('createCgiFetchHandler', () => {
  it('runs a script from a bare Request: the URL, its headers and the peer given', async () => {
    const { cgi } = handler();
    const response = await cgi(
      new Request('https://shop.example/cgi-bin/env.py/a%20b?x=1', { headers: { 'X-A': '1' } }),
      {
        remoteAddress: '203.0.113.7',
      },
    );
    expect(response?.status).toBe(200);
    const { env } = (await (response as Response).json()) as Env;
    expect(env).toMatchObject({
      SCRIPT_NAME: '/cgi-bin/env.py',
      PATH_INFO: '/a b',
      QUERY_STRING: 'x=1',
      REMOTE_ADDR: '203.0.113.7',
      SERVER_NAME: 'shop.example',
      SERVER_PORT: '443',
      HTTPS: 'on',
      HTTP_X_A: '1',
    });
  });

  it('resolves undefined for a URL no script answers, and outside the mount', async () => {
    const { cgi } = handler();
    expect(await cgi(new Request('http://x/cgi-bin/no-such.sh'))).toBeUndefined();
    expect(await cgi(new Request('http://x/elsewhere'))).toBeUndefined();
  });

  it('gives a body of unknown length to the script with its CONTENT_LENGTH', async () => {
    const { cgi } = handler();
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('twelve '));
        controller.enqueue(new TextEncoder().encode('bytes'));
        controller.close();
      },
    });
    const response = await cgi(
      new Request('http://x/cgi-bin/echo.py', { method: 'POST', body, duplex: 'half' } as RequestInit),
    );
    expect(response?.headers.get('x-content-length-env')).toBe('12');
    expect(await response?.text()).toBe('twelve bytes');
  });

  it('keeps the reason phrase, and every Set-Cookie apart and in order', async () => {
    const { cgi } = handler();
    expect((await cgi(new Request('http://x/cgi-bin/status.sh')))?.statusText).toBe("I'm a teapot");
    expect((await cgi(new Request('http://x/cgi-bin/cookies.pl')))?.headers.getSetCookie()).toEqual([
      'a=1; Path=/; HttpOnly',
      'b=2, with comma; Expires=Wed, 21 Oct 2037 07:28:00 GMT',
      'c=3',
    ]);
  });

  it('serves a local redirect through itself by default, and through reenter when given', async () => {
    const own = await handler().cgi(new Request('http://x/cgi-bin/redirect-local.sh', { method: 'POST', body: 'a=1' }));
    expect(((await (own as Response).json()) as Env).env).toMatchObject({
      REQUEST_METHOD: 'GET',
      PATH_INFO: '/from-redirect',
    });
    expect((await handler().cgi(new Request('http://x/cgi-bin/redirect-outside.sh')))?.status).toBe(404);
    const seen: string[] = [];
    const { cgi } = handler({
      reenter: (request) => {
        seen.push(request.url);
        return new Response('app answered');
      },
    });
    expect(await (await cgi(new Request('http://x/cgi-bin/redirect-outside.sh')))?.text()).toBe('app answered');
    expect(seen).toEqual(['http://x/modern/route?from=cgi']);
  });

  it('refuses a body another handler already read', async () => {
    const { cgi, logger } = handler();
    const request = new Request('http://x/cgi-bin/echo.py', { method: 'POST', body: 'x' });
    await request.text();
    expect((await cgi(request))?.status).toBe(500);
    expect(logger.text()).toMatch(/already read/);
  });

  it('kills the script when request.signal aborts', async () => {
    const { cgi } = handler();
    const file = `${root.scratch}/fetch-abort-pids`;
    const controller = new AbortController();
    const pending = cgi(new Request(`http://x/cgi-bin/sleep.sh?${file}`, { signal: controller.signal }));
    const pids = await readPids(file);
    controller.abort();
    await eventually(() => pids.every((pid) => !alive(pid)), 5000, 'the script killed on abort');
    await pending.catch(() => undefined);
    await eventually(() => cgi.gateway.running === 0, 5000, 'the slot freed');
  });

  it('reads the script output only as fast as the response body is pulled', async () => {
    const ends: CgiEvent[] = [];
    const { cgi } = handler({ onEvent: (event) => event.type === 'end' && ends.push(event) });
    const response = await cgi(new Request('http://x/cgi-bin/big.sh?100000000000'));
    const reader = (response as Response).body?.getReader();
    await reader?.read();
    // Unread, the script blocks on a full pipe instead of being drained into memory.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await reader?.cancel();
    await eventually(() => cgi.gateway.running === 0, 5000, 'the script killed on cancel');
    await eventually(() => ends.length === 1, 5000, 'the end event');
    expect(ends[0]).toMatchObject({ errorCode: 'ERR_CGI_CLIENT_GONE' });
    expect((ends[0] as { bytesOut: number }).bytesOut).toBeLessThan(1024 * 1024);
  });
});
