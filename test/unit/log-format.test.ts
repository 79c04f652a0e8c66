import { hostname } from 'node:os';
import { accessEntry, type CgiEndEvent, escapeControls, formatJsonLine, formatTextLine } from '@cgibridge/core';
import { describe, expect, it } from 'vitest';

const TIME = Date.UTC(2026, 4, 1, 9, 30, 0, 123);

describe('the log format', () => {
  it('escapes control characters and nothing else', () => {
    expect(escapeControls('said "hé" \\ back\ttab')).toBe('said "hé" \\ back\ttab');
    expect(escapeControls('a\nb\rc\x00d\x1b[2Je\x7ff\x9bg\u2028h')).toBe(
      'a\\nb\\rc\\x00d\\x1b[2Je\\x7ff\\x9bg\\u2028h',
    );
  });

  it('writes a text line as time, level, request id, message, and never more than one line', () => {
    expect(formatTextLine('warn', "/cgi-bin/a.sh stderr: KeyError: 'name'", { reqId: 'k1-7' }, TIME)).toBe(
      "2026-05-01T09:30:00.123Z WARN k1-7 /cgi-bin/a.sh stderr: KeyError: 'name'",
    );
    expect(formatTextLine('info', 'serving', undefined, TIME)).toBe('2026-05-01T09:30:00.123Z INFO - serving');
    const forged = formatTextLine('error', 'x\n2026-05-01T00:00:00.000Z INFO k1-8 forged', { reqId: 'a\nb' }, TIME);
    expect(forged.split('\n')).toHaveLength(1);
    expect(forged).toBe('2026-05-01T09:30:00.123Z ERROR a\\nb x\\n2026-05-01T00:00:00.000Z INFO k1-8 forged');
  });

  it('writes a JSON line as pino does: level number, epoch ms, pid, hostname, fields, msg', () => {
    const line = formatJsonLine('warn', 'a "quoted" é\n', { reqId: 'k1-7', scriptName: '/cgi-bin/a.sh' }, TIME);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      level: 40,
      time: TIME,
      pid: process.pid,
      hostname: hostname(),
      reqId: 'k1-7',
      scriptName: '/cgi-bin/a.sh',
      msg: 'a "quoted" é\n',
    });
    expect(Object.keys(JSON.parse(line))).toEqual(['level', 'time', 'pid', 'hostname', 'reqId', 'scriptName', 'msg']);
    for (const [level, number] of [
      ['debug', 20],
      ['info', 30],
      ['error', 50],
    ] as const) {
      expect(JSON.parse(formatJsonLine(level, 'm')).level).toBe(number);
    }
  });

  it('puts every fact of a request on its access line, in a fixed order', () => {
    const event: CgiEndEvent = {
      type: 'end',
      id: 'k1-7',
      startTime: TIME,
      method: 'POST',
      target: '/cgi-bin/form.py?x=1',
      client: '192.0.2.7',
      scriptName: '/cgi-bin/form.py',
      status: 502,
      durationMs: 12.5,
      exitCode: 3,
      signal: null,
      bytesIn: 120,
      bytesOut: 0,
      errorCode: 'ERR_CGI_NO_HEADERS',
    };
    const { message, fields } = accessEntry(event);
    expect(message).toBe('192.0.2.7 POST /cgi-bin/form.py?x=1 502 12.5ms exit=3 in=120 out=0 error=ERR_CGI_NO_HEADERS');
    expect(fields).toMatchObject({
      reqId: 'k1-7',
      client: '192.0.2.7',
      method: 'POST',
      target: '/cgi-bin/form.py?x=1',
      status: 502,
      durationMs: 12.5,
      exitCode: 3,
      bytesIn: 120,
      bytesOut: 0,
    });
    const killed = accessEntry({ ...event, exitCode: null, signal: 'SIGTERM', errorCode: undefined });
    expect(killed.message).toMatch(/ exit=SIGTERM in=120 out=0$/);
    const redirected = accessEntry({ ...event, status: 0, errorCode: undefined, localRedirect: '/cgi-bin/b.sh' });
    expect(redirected.message).toMatch(
      / \/cgi-bin\/form\.py\?x=1 - 12\.5ms exit=3 in=120 out=0 redirect=\/cgi-bin\/b\.sh$/,
    );
  });
});
