import { describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { conformance, expectGenericError } from '../support/suite.js';

const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

/** The text of one section of the HTML page, entities left as sent. */
function section(html: string, id: string): string {
  const match = new RegExp(`<section id="${id}">.*?<pre>([\\s\\S]*?)</pre></section>`).exec(html);
  if (match === null) throw new Error(`no section ${id} in:\n${html}`);
  return match[1] as string;
}

conformance(
  'the development error page (option debug)',
  (ctx) => {
    it('shows a browser the diagnosis, the output, the stderr and the exit status, all escaped', async () => {
      const reply = await request(ctx.url('/cgi-bin/debug-xss.sh'), { headers: HTML });
      expect(reply.status).toBe(502);
      expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(reply.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'");
      // Nothing the script wrote is markup on the page.
      expect(reply.text).not.toMatch(/<script/i);
      expect(section(reply.text, 'diagnosis')).toContain(
        'the script exited with status 7 before ending its header block with an empty line',
      );
      expect(section(reply.text, 'exit')).toBe('the script exited with status 7');
      expect(section(reply.text, 'output')).toBe(
        'X-Out: &lt;script&gt;alert(&quot;out&quot;)&lt;/script&gt; \\x1b[31mred\\r',
      );
      expect(section(reply.text, 'stderr')).toBe(
        '&lt;script&gt;alert(&quot;err&quot;)&lt;/script&gt; &amp; &quot;quoted&quot; café\nbell\\x07 and escape\\x1b[2J',
      );
      expect(section(reply.text, 'request')).toBe('GET /cgi-bin/debug-xss.sh\nscript: /cgi-bin/debug-xss.sh');
    });

    it('answers a client that does not ask for HTML in plain text', async () => {
      const reply = await request(ctx.url('/cgi-bin/debug-xss.sh'), { headers: { Accept: '*/*' } });
      expect(reply.status).toBe(502);
      expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.text).toMatch(/^502 Bad Gateway: \/cgi-bin\/debug-xss\.sh\n/);
      expect(reply.text).toContain('== Exit status\nthe script exited with status 7\n');
      expect(reply.text).toContain('<script>alert("err")</script> & "quoted" café\nbell\\x07 and escape\\x1b[2J\n');
      const refused = await request(ctx.url('/cgi-bin/debug-xss.sh'), { headers: { Accept: 'text/html;q=0, */*' } });
      expect(refused.headers['content-type']).toBe('text/plain; charset=utf-8');
    });

    it('bounds what it shows: the first 2 KiB of output, the last 20 stderr lines', async () => {
      const reply = await request(ctx.url('/cgi-bin/debug-noisy.sh'), { headers: HTML });
      expect(reply.status).toBe(502);
      expect(section(reply.text, 'output')).toBe('x'.repeat(2048));
      expect(reply.text).toContain('<h2>Output (stdout) <small>(first 2048 of 5000 bytes)</small></h2>');
      const lines = section(reply.text, 'stderr').split('\n');
      expect(lines).toEqual(Array.from({ length: 20 }, (_, i) => `stderr line ${i + 11}`));
      expect(reply.text).toContain('<small>(last 20 lines; 10 earlier)</small>');
    });

    it('explains a script that could not start', async () => {
      const reply = await request(ctx.url('/cgi-bin/missing-interpreter.sh'), { headers: { Accept: 'text/plain' } });
      expect(reply.status).toBe(502);
      expect(reply.text).toContain('interpreter "/usr/bin/cgibridge-no-such-interpreter" named in the shebang line');
      expect(reply.text).toContain('== Exit status\nthe script did not start\n');
    });

    it('explains a script without its execute bit', async () => {
      const reply = await request(ctx.url('/cgi-bin/not-executable.sh'), { headers: { Accept: 'text/plain' } });
      expect(reply.status).toBe(500);
      expect(reply.text).toMatch(/^500 Internal Server Error: \/cgi-bin\/not-executable\.sh\n/);
      expect(reply.text).toContain('the script is not executable; run "chmod +x" on it');
    });

    it('shows a timed-out script as killed, with what it said before', async () => {
      const server = await ctx.start({ debug: true, timeout: 300, killGrace: 200 });
      const reply = await request(`${server.origin}/cgi-bin/debug-hang.sh`, { headers: HTML });
      expect(reply.status).toBe(504);
      expect(section(reply.text, 'diagnosis')).toContain('timed out after 300 ms before printing its headers');
      expect(section(reply.text, 'exit')).toBe(
        'the script was killed by SIGTERM (cgibridge stopped it after the failure)',
      );
      expect(section(reply.text, 'stderr')).toBe('about to hang');
    });

    it('is only for a script’s 5xx: a 404 and a good response are untouched', async () => {
      const missing = await request(ctx.url('/cgi-bin/no-such-script.sh'), { headers: HTML });
      expect(missing.status).toBe(404);
      expect(missing.text).not.toContain('Development mode');
      const fine = await request(ctx.url('/cgi-bin/hello.sh'), { headers: HTML });
      expect(fine.text).toBe('hello from sh\n');
    });
  },
  { debug: true },
);

conformance('without the debug option, nothing of a failure reaches the client', (ctx) => {
  describe('production mode (the default)', () => {
    it.each([['text/html'], ['*/*']])('answers a failing script with the generic body (Accept: %s)', async (accept) => {
      for (const [script, status] of [
        ['debug-xss.sh', 502],
        ['debug-noisy.sh', 502],
        ['missing-interpreter.sh', 502],
        ['not-executable.sh', 500],
      ] as const) {
        const reply = await request(ctx.url(`/cgi-bin/${script}`), { headers: { Accept: accept } });
        expectGenericError(reply, status, ctx.root.root);
        for (const leak of ['script', 'stderr', 'alert', 'exited', 'xxxx', 'Development mode', 'interpreter']) {
          expect(reply.text, `${script}: ${leak}`).not.toContain(leak);
        }
      }
    });
  });
});
