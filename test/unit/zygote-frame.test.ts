// The request frame a warm child reads: NUL-separated fields, so a NUL inside one must never
// reach it (the spawner refuses those earlier; this is the frame's own guard).
import { describe, expect, it } from 'vitest';
import { requestFrame, type ZygoteRequest } from '../../packages/core/dist/warm/zygote.js';

const request: ZygoteRequest = {
  processName: 'hello.py',
  mayBeZip: false,
  argv0: '/usr/bin/python3',
  executable: '/usr/bin/python3',
  argv: ['/srv/hello.py', 'a b'],
  env: { PATH: '/usr/bin', QUERY: 'x=1&y=\uD800' },
  cwd: '/srv',
};

describe('requestFrame', () => {
  it('frames the fields NUL-separated after their length, as UTF-8 the way Node passes them to a cold child', () => {
    const frame = requestFrame(request);
    expect(frame).toBeDefined();
    const body = (frame as Buffer).subarray(8);
    expect(Number.parseInt((frame as Buffer).subarray(0, 8).toString(), 16)).toBe(body.length);
    expect(body.toString().split('\0')).toEqual([
      'hello.py',
      '0',
      '/usr/bin/python3',
      '/usr/bin/python3',
      '/srv',
      '2',
      '/srv/hello.py',
      'a b',
      'PATH=/usr/bin',
      'QUERY=x=1&y=\uFFFD',
    ]);
  });

  it('refuses a field holding a NUL: it would split into an extra variable', () => {
    expect(requestFrame({ ...request, env: { A: 'x\0PATH=/tmp/evil' } })).toBeUndefined();
    expect(requestFrame({ ...request, argv: ['/srv/hello.py', 'a\0b'] })).toBeUndefined();
  });
});
