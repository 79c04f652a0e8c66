import { expect, it } from 'vitest';
import { securityGroup } from '../support/security.js';

securityGroup('security: argv (PHP-CGI argument injection)', (ctx) => {
  it.each([
    ['CVE-2012-1823 (PHP-CGI): -s shows source', '?-s'],
    ['CVE-2012-1823: -d sets ini options', '?-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input'],
    ['CVE-2024-4577 (PHP-CGI, Windows): soft hyphen %AD', '?%ADd+allow_url_include%3d1'],
    ['shell metacharacters', '?%3Bid+%7Cls+%60id%60+%24(id)'],
    ['plain indexed query', '?a+b+c'],
  ])('%s: never argv while commandArgs is off', async (_incident, query) => {
    const reply = await ctx.probe(`/cgi-bin/args.sh${query}`);
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('');
  });

  it.each([
    ['CVE-2012-1823: leading -', '?-s'],
    ['CVE-2012-1823: - in a later word', '?a+-d'],
    ['CVE-2012-1823: encoded -', '?%2Ds'],
    ['CVE-2024-4577: soft hyphen alone (invalid UTF-8)', '?%ADd'],
    ['CVE-2024-4577: soft hyphen as UTF-8', '?%C2%ADd'],
    ['control character in an argument', '?a%0Ab'],
    ['non-ASCII argument', '?%C3%A9'],
  ])('%s: refused with 400 under commandArgs', async (_incident, query) => {
    const server = await ctx.start({ commandArgs: true });
    const before = server.events.length;
    expect((await ctx.probe(`/cgi-bin/args.sh${query}`, {}, server.origin)).status).toBe(400);
    expect(server.events.slice(before).some((e) => e.type === 'spawn')).toBe(false);
  });

  it('passes metacharacters verbatim, never through a shell, under commandArgs', async () => {
    const server = await ctx.start({ commandArgs: true });
    const reply = await ctx.probe('/cgi-bin/args.sh?%3Bid+%7Cls+%60id%60+%24(id)', {}, server.origin);
    expect(reply.text).toBe('[;id]\n[|ls]\n[`id`]\n[$(id)]\n');
  });

  it('never makes argv from a query with "=" or from a POST', async () => {
    const server = await ctx.start({ commandArgs: true });
    expect((await ctx.probe('/cgi-bin/args.sh?a=b+c', {}, server.origin)).text).toBe('');
    expect((await ctx.probe('/cgi-bin/args.sh?a+b', { method: 'POST', body: 'x' }, server.origin)).text).toBe('');
  });
});
