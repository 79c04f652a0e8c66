import { CgiError, parseCgiHeaders } from '@cgibridge/core';

/** A problem with what a script printed. */
export interface OutputProblem {
  readonly message: string;
  readonly fix: string;
}

// RFC 9110 token, and field values without control characters (as parse-headers.ts checks them).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const MAX_QUOTED = 5;

/** Where the header block ends: the first empty line (LF or CRLF), as RFC 3875 §6.2 has it. */
function headerEnd(text: string): number | undefined {
  const m = /\r?\n\r?\n/.exec(text);
  return m === null ? undefined : m.index;
}

/** Why one header line is not `Name: value`, or `undefined` when it is. */
function badLine(line: string): string | undefined {
  const colon = line.indexOf(':');
  if (/^[ \t]/.test(line)) return 'folded (continuation) line';
  if (colon <= 0) return /^HTTP\/\d/.test(line) ? 'an HTTP status line' : 'no "Name:"';
  if (!TOKEN.test(line.slice(0, colon))) return 'invalid header name';
  if (BAD_VALUE.test(line.slice(colon + 1))) return 'control character in the value';
  return undefined;
}

function quote(line: string): string {
  return line.length > 80 ? `${line.slice(0, 80)}...` : line;
}

/**
 * Checks a script's output the way a CGI server reads it, and words each problem as Apache
 * logs it (`malformed header from script 'x': Bad header: ...`, `End of script output before
 * headers`), quoting every malformed line of the header block.
 *
 * @param output - the first bytes the script wrote to stdout.
 * @param name - the script's name as Apache would quote it.
 * @param truncated - the script wrote more than `output` holds.
 */
export function checkOutput(output: Buffer, name: string, nph: boolean, truncated = false): OutputProblem[] {
  const text = output.toString('latin1');
  if (truncated && headerEnd(text) === undefined) {
    return [
      {
        message: `${name} printed more than ${output.length} bytes without the empty line that ends the headers`,
        fix: `print an empty line after the headers; keep the header block under ${output.length} bytes`,
      },
    ];
  }
  if (text === '') {
    return [
      {
        message: `End of script output before headers: ${name} printed nothing`,
        fix: 'print a header block first, e.g. "Content-Type: text/html", then an empty line, then the body',
      },
    ];
  }
  if (/^\r?\n/.test(text)) {
    return [
      {
        message: `${name} printed an empty line before any header`,
        fix: 'print the headers (e.g. "Content-Type: text/html") before the empty line',
      },
    ];
  }
  const end = headerEnd(text);
  const lines = (end === undefined ? text : text.slice(0, end)).split(/\r?\n/);
  if (end === undefined && lines[lines.length - 1] === '') lines.pop();
  const problems: OutputProblem[] = [];
  let valid = 0;
  for (const [i, line] of lines.entries()) {
    if (i === 0 && nph && /^HTTP\/1\.[01] \d{3}/.test(line)) continue;
    const why = badLine(line);
    if (why === undefined) {
      valid++;
      continue;
    }
    problems.push(malformed(name, line, why, valid, end === undefined));
    // Without an empty line the first bad line is where the body began: the rest is body.
    if (end === undefined || problems.length >= MAX_QUOTED) return problems;
  }
  if (problems.length > 0) return problems;
  if (end === undefined) {
    return [
      {
        message: `End of script output before headers: ${name} printed headers but no empty line after them`,
        fix: 'print an empty line after the headers',
      },
    ];
  }
  return semantic(lines.join('\n'), nph);
}

function malformed(name: string, line: string, why: string, valid: number, noBlank: boolean): OutputProblem {
  const message = `malformed header from script '${name}': Bad header: ${quote(line)} (${why})`;
  if (why === 'an HTTP status line') {
    const nph = name.startsWith('nph-')
      ? 'serve with --nph (only then may nph- scripts print a status line), or print "Status: 200 OK" instead'
      : 'print "Status: 200 OK" instead (or name it nph-... and serve with --nph)';
    return { message, fix: nph };
  }
  if (noBlank && valid > 0) return { message, fix: 'print an empty line after the headers (before the body)' };
  return {
    message,
    fix:
      valid === 0
        ? 'print the headers (e.g. "Content-Type: text/html") and an empty line before anything else'
        : 'print only "Name: value" lines before the empty line that ends the headers',
  };
}

/** Content-Type/Status/Location present, and what else the gateway refuses (bad Status, Content-Length). */
function semantic(block: string, nph: boolean): OutputProblem[] {
  try {
    parseCgiHeaders(block, nph);
    return [];
  } catch (error) {
    if (!(error instanceof CgiError)) throw error;
    const fix =
      error.code === 'ERR_CGI_NO_CONTENT_TYPE'
        ? 'print "Content-Type: text/html" (or a Status or Location header)'
        : error.code === 'ERR_CGI_BAD_STATUS'
          ? 'print "Status: NNN reason" with NNN from 200 to 599'
          : 'correct that header';
    return [{ message: `${error.message} (${error.code})`, fix }];
  }
}
