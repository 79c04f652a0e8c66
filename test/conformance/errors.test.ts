import { expect, it } from 'vitest';
import { request } from '../support/http.js';
import { conformance, expectGenericError } from '../support/suite.js';

conformance('errors a CGI author can act on (SPEC §2, §5)', (ctx) => {
  it.each([
    [
      'a shebang interpreter that does not exist',
      '/cgi-bin/missing-interpreter.sh',
      502,
      /missing-interpreter\.sh: the interpreter "\/usr\/bin\/cgibridge-no-such-interpreter" named in the shebang line does not exist; install cgibridge-no-such-interpreter or change the shebang/,
    ],
    [
      'a shebang saved with CRLF line endings',
      '/cgi-bin/crlf.sh',
      502,
      /crlf\.sh: the shebang line ends with a carriage return \(CRLF line ends\).*; convert to LF, e\.g\. dos2unix crlf\.sh/,
    ],
    [
      'a CRLF shebang in the env form (env exits 127, nothing printed)',
      '/cgi-bin/crlf-env.py',
      502,
      /crlf-env\.py: the shebang line ends with a carriage return \(CRLF line ends\): env looks for a command named "python3\\r".*; convert to LF/,
    ],
    [
      'an interpreter missing on the PATH scripts get, through env',
      '/cgi-bin/env-missing.py',
      502,
      /env-missing\.py: "#!\/usr\/bin\/env cgibridge-python9": cgibridge-python9 is not on the PATH scripts get .*; install cgibridge-python9 on that PATH/,
    ],
    [
      'a header block whose empty line is missing, quoted as soon as it is read',
      '/cgi-bin/forgot-blank.sh',
      502,
      /forgot-blank\.sh: malformed header line "<h1>Hello<\/h1>" \(is the empty line that ends the headers missing before it\?\)/,
    ],
    [
      'a script without the executable bit',
      '/cgi-bin/not-executable.sh',
      500,
      /not-executable\.sh: the script is not executable; run "chmod \+x" on it or configure an interpreter for "\.sh"/,
    ],
    [
      'an executable without a shebang line (never handed to /bin/sh)',
      '/cgi-bin/no-shebang.sh',
      502,
      /no-shebang\.sh: the script has no shebang line \(#!\) and is not a binary; add one, e\.g\. "#!\/bin\/sh"/,
    ],
  ])('answers %s with a generic error and one log line naming the cause', async (_name, path, status, cause) => {
    const reply = await request(ctx.url(path));
    expectGenericError(reply, status, ctx.root.root);
    expect(reply.text).not.toContain('ran without a shebang');
    const lines = ctx.server.logger.lines.filter((l) => l.message.includes(path));
    expect(
      lines.filter((l) => cause.test(l.message)),
      ctx.server.logger.text(),
    ).toHaveLength(1);
    expect(
      lines.every((l) => !/\n\s+at /.test(l.message)),
      'no stack trace in the log',
    ).toBe(true);
  });

  it('names a configured interpreter that is not installed', async () => {
    const server = await ctx.start({ interpreters: { '.py': ['cgibridge-python-nope', '-u'] } });
    const reply = await request(`${server.origin}/cgi-bin/hello.py`);
    expectGenericError(reply, 502, ctx.root.root);
    expect(server.logger.text()).toMatch(/hello\.py: interpreter "cgibridge-python-nope" not found in PATH/);
  });

  it('keeps error bodies free of paths, stacks and environment values', async () => {
    const paths = [
      '/cgi-bin/bad-header.sh',
      '/cgi-bin/crlf.sh',
      '/cgi-bin/secret.txt',
      '/cgi-bin/%zz',
      '/cgi-bin/link-out.sh',
    ];
    for (const path of paths) {
      const reply = await request(ctx.url(path));
      expectGenericError(reply, reply.status, ctx.root.root);
      expect(reply.status, path).toBeGreaterThanOrEqual(400);
    }
  });
});
