import { validateHeaderName, validateHeaderValue } from 'node:http';
import { CgiError, CgiHeaderReader, parseCgiHeaders } from '@cgibridge/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe('CgiHeaderReader', () => {
  it.each([
    ['LF', 'A: 1\n\nbody', 'A: 1', 'body'],
    ['CRLF', 'A: 1\r\n\r\nbody', 'A: 1\r', 'body'],
    ['LF then CRLF', 'A: 1\n\r\nbody', 'A: 1', 'body'],
    ['CRLF then LF', 'A: 1\r\n\nbody', 'A: 1\r', 'body'],
    ['empty body', 'A: 1\n\n', 'A: 1', ''],
  ])('finds the end of the header block with %s', (_name, output, block, rest) => {
    const parsed = new CgiHeaderReader(1024).push(Buffer.from(output, 'latin1'));
    expect(parsed?.block).toBe(block);
    expect(parsed?.rest.toString('latin1')).toBe(rest);
  });

  it('finds the end across any split of the output into chunks', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('\n\n', '\r\n\r\n', '\n\r\n', '\r\n\n'),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }),
        (terminator, cuts) => {
          const output = Buffer.from(`Content-Type: text/plain\r\nX-A: 1${terminator}body\n\nmore`, 'latin1');
          const reader = new CgiHeaderReader(1024);
          let at = 0;
          let result: ReturnType<CgiHeaderReader['push']> = null;
          for (const cut of [...cuts, output.length]) {
            if (result !== null || at >= output.length) break;
            result = reader.push(output.subarray(at, Math.min(output.length, at + cut)));
            at += cut;
          }
          expect(result).not.toBeNull();
          const body = Buffer.concat([result?.rest ?? Buffer.alloc(0), output.subarray(Math.min(at, output.length))]);
          expect(body.toString('latin1')).toBe('body\n\nmore');
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses an empty header block', () => {
    expect(() => new CgiHeaderReader(1024).push(Buffer.from('\nbody'))).toThrow(/empty line before any header/);
    expect(() => new CgiHeaderReader(1024).push(Buffer.from('\r\nbody'))).toThrow(/empty line before any header/);
  });

  it('refuses a header block larger than its limit, even one arriving byte by byte', () => {
    const reader = new CgiHeaderReader(64);
    expect(() => {
      for (let i = 0; i < 200; i++) reader.push(Buffer.from('a'));
    }).toThrow(/larger than 64 bytes/);
    expect(reader.length).toBeLessThan(70);
  });
});

describe('parseCgiHeaders', () => {
  it.each([
    ['Content-Type: text/html', { kind: 'document', status: 200 }],
    ['Status: 404 Not Found\nContent-Type: text/plain', { kind: 'document', status: 404, statusText: 'Not Found' }],
    ['Status: 201', { kind: 'document', status: 201, statusText: undefined }],
    ['Location: https://x.example/', { kind: 'client-redirect', status: 302 }],
    ['Location: //x.example/', { kind: 'client-redirect', status: 302 }],
    ['Status: 307\nLocation: https://x.example/', { kind: 'client-redirect', status: 307 }],
    ['Location: /local?q=1', { kind: 'local-redirect', location: '/local?q=1' }],
    ['Location: /local\nContent-Type: text/html', { kind: 'client-redirect', status: 302 }],
    ['content-type:text/plain', { kind: 'document', status: 200 }],
    ['Content-Type: \t text/plain \t', { kind: 'document', status: 200 }],
  ])('parses %j', (block, expected) => {
    expect(parseCgiHeaders(block)).toMatchObject(expected);
  });

  it('keeps repeated fields in order and adds nosniff', () => {
    const head = parseCgiHeaders(
      'Content-Type: text/plain\nSet-Cookie: a=1\nSet-Cookie: b=2\nX-Content-Type-Options: nosniff',
    );
    expect(head.kind === 'document' && head.headers).toEqual([
      ['Content-Type', 'text/plain'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['X-Content-Type-Options', 'nosniff'],
    ]);
  });

  it('parses an nph status line only when asked', () => {
    expect(parseCgiHeaders('HTTP/1.1 202 Accepted\nContent-Type: text/plain', true)).toMatchObject({
      status: 202,
      statusText: 'Accepted',
    });
    expect(() => parseCgiHeaders('HTTP/1.1 202 Accepted\nContent-Type: text/plain')).toThrow(CgiError);
    expect(() => parseCgiHeaders('Content-Type: text/plain', true)).toThrow(/must start with an HTTP status line/);
  });

  it.each([
    ['no colon', 'Content-Type text/plain', 'ERR_CGI_MALFORMED_HEADER'],
    ['space before colon', 'Content-Type : text/plain', 'ERR_CGI_MALFORMED_HEADER'],
    ['folded line', 'Content-Type: text/plain\n continued', 'ERR_CGI_MALFORMED_HEADER'],
    ['empty name', ': x', 'ERR_CGI_MALFORMED_HEADER'],
    ['NUL in value', 'X-A: a\0b\nContent-Type: text/plain', 'ERR_CGI_MALFORMED_HEADER'],
    ['CR in value', 'X-A: a\rb\nContent-Type: text/plain', 'ERR_CGI_MALFORMED_HEADER'],
    ['DEL in value', 'X-A: a\x7fb\nContent-Type: text/plain', 'ERR_CGI_MALFORMED_HEADER'],
    ['status letters', 'Status: abc', 'ERR_CGI_BAD_STATUS'],
    ['status 1xx', 'Status: 101 Switching Protocols', 'ERR_CGI_BAD_STATUS'],
    ['status four digits', 'Status: 2000', 'ERR_CGI_BAD_STATUS'],
    ['two statuses', 'Status: 200\nStatus: 404', 'ERR_CGI_BAD_STATUS'],
    ['two locations', 'Location: /a\nLocation: /b', 'ERR_CGI_MALFORMED_HEADER'],
    ['negative length', 'Content-Type: text/plain\nContent-Length: -1', 'ERR_CGI_BAD_CONTENT_LENGTH'],
    ['two lengths', 'Content-Type: text/plain\nContent-Length: 1\nContent-Length: 1', 'ERR_CGI_BAD_CONTENT_LENGTH'],
    ['nothing to send', 'X-Only: 1', 'ERR_CGI_NO_CONTENT_TYPE'],
  ])('refuses %s', (_name, block, code) => {
    expect(() => parseCgiHeaders(block)).toThrow(expect.objectContaining({ code, status: 502 }));
  });

  it('strips framing and send-file headers', () => {
    const head = parseCgiHeaders(
      'Content-Type: text/plain\nTransfer-Encoding: chunked\nConnection: close\nX-Sendfile: /etc/passwd\nX-Accel-Buffering: no',
    );
    expect(head.kind === 'document' && head.headers.map(([name]) => name)).toEqual([
      'Content-Type',
      'X-Content-Type-Options',
    ]);
  });

  it('never throws anything but a CgiError, and never accepts what Node would refuse to send', () => {
    const line = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 40 }),
      fc
        .tuple(
          fc.constantFrom('Status', 'Location', 'Content-Type', 'Content-Length', 'X-A', 'Set-Cookie'),
          fc.string({ unit: 'binary', maxLength: 30 }),
        )
        .map(([name, value]) => `${name}: ${value}`),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), fc.boolean(), (lines, nph) => {
        const block = Buffer.from(lines.join('\n'), 'utf8').toString('latin1');
        let head: ReturnType<typeof parseCgiHeaders>;
        try {
          head = parseCgiHeaders(block, nph);
        } catch (error) {
          expect(error).toBeInstanceOf(CgiError);
          return;
        }
        if (head.kind === 'local-redirect') {
          validateHeaderValue('Location', head.location);
          return;
        }
        expect(head.status).toBeGreaterThanOrEqual(200);
        expect(head.status).toBeLessThanOrEqual(599);
        for (const [name, value] of head.headers) {
          validateHeaderName(name);
          validateHeaderValue(name, value);
        }
      }),
      { numRuns: NUM_RUNS * 10 },
    );
  });

  it('reads any byte stream, in any chunking, to a CgiError or a head, holding no more than its limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.integer({ min: 16, max: 2048 }),
        async (chunks, limit) => {
          const reader = new CgiHeaderReader(limit);
          for (const chunk of chunks) {
            let parsed: ReturnType<CgiHeaderReader['push']>;
            try {
              parsed = reader.push(Buffer.from(chunk));
            } catch (error) {
              expect(error).toBeInstanceOf(CgiError);
              return;
            }
            if (parsed !== null) {
              expect(parsed.block.length).toBeLessThanOrEqual(limit);
              try {
                parseCgiHeaders(parsed.block);
              } catch (error) {
                expect(error).toBeInstanceOf(CgiError);
              }
              return;
            }
            expect(reader.length).toBeLessThanOrEqual(limit + 2);
          }
        },
      ),
      // A run that takes longer than this is a hang: the property fails.
      { numRuns: NUM_RUNS * 10, timeout: 2000 },
    );
  });
});
