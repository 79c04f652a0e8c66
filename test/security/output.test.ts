import { expect, it } from 'vitest';
import { securityGroup } from '../support/security.js';
import { eventually } from '../support/suite.js';

securityGroup('security: script output (response splitting, framing, floods)', (ctx) => {
  it.each([
    ['CWE-113 response splitting: CR in a value', 'bad-value.sh'],
    ['CWE-113: NUL in a value', 'nul-value.sh'],
    ['obsolete line folding (RFC 9112 §5.2)', 'folded.sh'],
    ['invalid header name', 'bad-name.sh'],
    ['line without a colon', 'bad-header.sh'],
    ['HTTP/1.1 status line from a non-NPH script', 'http-status-line.sh'],
    ['two different Content-Lengths (CL.CL)', 'double-length.sh'],
    ['a list as Content-Length', 'bad-length.sh'],
    ['no Content-Type, Status or Location', 'no-type.sh'],
    ['header block never ended', 'no-terminator.sh'],
  ])('%s: 502, nothing of the output forwarded', async (_incident, script) => {
    const reply = await ctx.probe(`/cgi-bin/${script}`);
    expect(reply.status).toBe(502);
    expect(reply.headers['set-cookie']).toBeUndefined();
  });

  it.each(['abc', '99', '1000', '101', '600', '-200', '2OO'])('Status: %s is refused with 502', async (status) => {
    expect((await ctx.probe(`/cgi-bin/bad-status.sh?${status}`)).status).toBe(502);
  });

  it('a Content-Length that undercounts cannot smuggle a second response onto the connection', async () => {
    const reply = await ctx.raw(
      'GET /cgi-bin/long-length.sh HTTP/1.1\r\nHost: x\r\n\r\nGET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(reply).not.toContain('X-Smuggled');
    expect(reply.match(/HTTP\/1\.1 200 OK/g)?.length ?? 0).toBeLessThanOrEqual(2);
  });

  it('a Content-Length that overcounts ends in an aborted response, not a hang', async () => {
    await expect(ctx.probe('/cgi-bin/short-length.sh')).rejects.toThrow();
  });

  it('hop-by-hop and send-file headers are stripped, never acted on (X-Sendfile, X-Accel-Redirect)', async () => {
    const reply = await ctx.probe('/cgi-bin/hop-by-hop.sh');
    expect(reply.text).toBe('body\n');
    for (const name of ['x-sendfile', 'x-accel-redirect', 'upgrade', 'x-hop-named'])
      expect(reply.headers[name]).toBeUndefined();
  });

  it.each([
    ['one endless header line (memory exhaustion)', 'huge-header.sh'],
    ['an endless stream of header lines', 'header-flood.sh'],
  ])('%s: 502 at maxResponseHeaderBytes, the script killed', async (_incident, script) => {
    expect((await ctx.probe(`/cgi-bin/${script}`)).status).toBe(502);
    await eventually(() => ctx.server.running() === 0, 5000, 'the flooding script to be killed');
  });

  it('a local redirect loop stops after 10 hops with 502', async () => {
    expect((await ctx.probe('/cgi-bin/redirect-loop.sh')).status).toBe(502);
  });

  it('a local redirect cannot escape the root: the target passes every path rule', async () => {
    expect((await ctx.probe('/cgi-bin/redirect-escape.sh')).status).toBe(404);
  });

  it('a script that exits non-zero after a complete response keeps it', async () => {
    const reply = await ctx.probe('/cgi-bin/fail-after.sh');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('complete\n');
  });
});
