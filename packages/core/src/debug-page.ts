import { STATUS_CODES } from 'node:http';
import { type CgiDebugFacts, debugFactsOf } from './debug-facts.js';
import type { CgiError } from './errors.js';
import { escapeControls } from './log.js';

/** What a development error page is about: the failure, its facts, and the request it answers. */
export interface CgiDebugPageInput {
  /** The detailed error (its message is written for the operator: cause and fix). */
  readonly error: CgiError;
  readonly facts: CgiDebugFacts;
  readonly method: string;
  readonly target: string;
}

/** A body of the page and the headers it needs. */
export interface CgiDebugBody {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Failures of the server, not of a script: never worth a development page. */
const NOT_THE_SCRIPT = new Set(['ERR_CGI_BUSY', 'ERR_CGI_SPOOL_FULL', 'ERR_CGI_OUT_OF_RESOURCES', 'ERR_CGI_INTERNAL']);

/** Whether an error is a 5xx a script caused (the only errors the development page is for). */
export function isScriptFailure(error: CgiError): boolean {
  return error.status >= 500 && !NOT_THE_SCRIPT.has(error.code);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/** Output bytes as text: UTF-8 where it decodes, every control character but newline and tab made visible. */
function visible(bytes: Buffer): string {
  return bytes
    .toString('utf8')
    .split('\n')
    .map((line) => escapeControls(line))
    .join('\n');
}

function exitText(facts: CgiDebugFacts): string {
  const { exit } = facts;
  if (!facts.started) return 'did not start';
  if (exit === undefined) return 'had not ended when this page was made';
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
  return facts.killed ? `${how} (cgibridge stopped it after the failure)` : how;
}

/** The page's sections, in order: heading and text, shared by the HTML and the plain-text form. */
function sections(input: CgiDebugPageInput): Array<{ id: string; title: string; text: string; note?: string }> {
  const { error, facts } = input;
  const cut =
    facts.outputBytes > facts.output.length ? `first ${facts.output.length} of ${facts.outputBytes} bytes` : '';
  const skipped = facts.stderrSkipped > 0 ? `last ${facts.stderr.length} lines; ${facts.stderrSkipped} earlier` : '';
  return [
    { id: 'diagnosis', title: 'What went wrong', text: `${error.message}\n(${error.code})` },
    { id: 'request', title: 'Request', text: `${input.method} ${input.target}\nscript: ${facts.scriptName}` },
    { id: 'exit', title: 'Exit status', text: `the script ${exitText(facts)}` },
    {
      id: 'output',
      title: 'Output (stdout)',
      text: facts.outputBytes === 0 ? '(nothing)' : visible(facts.output),
      note: cut,
    },
    {
      id: 'stderr',
      title: 'Error output (stderr)',
      text: facts.stderr.length === 0 ? '(nothing)' : facts.stderr.map(escapeControls).join('\n'),
      note: skipped,
    },
  ];
}

const WARNING =
  'Development mode (debug: true): never enable it in production; it shows every client what the log shows.';

/** The page as HTML: every piece of text escaped, inline style only. */
function html(input: CgiDebugPageInput): string {
  const status = `${input.error.status} ${STATUS_CODES[input.error.status] ?? 'Error'}`;
  const parts = sections(input).map(
    (s) =>
      `<section id="${s.id}"><h2>${escapeHtml(s.title)}${s.note ? ` <small>(${escapeHtml(s.note)})</small>` : ''}</h2><pre>${escapeHtml(s.text)}</pre></section>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`${status}: ${input.facts.scriptName}`)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#222}header{background:#8b1d1d;color:#fff;padding:.8rem 1.2rem}
h1{margin:0;font-size:1.3rem}main{padding:0 1.2rem 1.2rem;max-width:60rem}h2{font-size:1rem;margin:1.2rem 0 .3rem}
small{font-weight:normal;color:#666}pre{background:#f6f6f6;border:1px solid #ddd;padding:.6rem;white-space:pre-wrap;word-break:break-all;margin:0}
#diagnosis pre{background:#fff4e5;border-color:#f0c36d;font:inherit}footer{color:#666;font-size:.85rem;margin-top:1.2rem}</style></head>
<body><header><h1>${escapeHtml(status)}: ${escapeHtml(input.facts.scriptName)}</h1></header><main>
${parts.join('\n')}
<footer>${escapeHtml(WARNING)}</footer></main></body></html>
`;
}

/** The page as plain text, for clients that do not ask for HTML (curl, scripts). */
function text(input: CgiDebugPageInput): string {
  const status = `${input.error.status} ${STATUS_CODES[input.error.status] ?? 'Error'}`;
  const parts = sections(input).map((s) => `== ${s.title}${s.note ? ` (${s.note})` : ''}\n${s.text}`);
  return `${status}: ${input.facts.scriptName}\n\n${parts.join('\n\n')}\n\n-- ${WARNING}\n`;
}

/** Whether an `Accept` header asks for HTML (a browser's does; curl's `*\/*` does not). */
function wantsHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return (type === 'text/html' || type === 'application/xhtml+xml') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

const COMMON = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  // Escaping already keeps the script's text inert; this keeps it so even if escaping were wrong.
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
};

/**
 * The development error page of a script's failure (option `debug`), HTML or plain text by
 * the request's `Accept`. Hosts send it instead of the generic body: `sendCgiError` does.
 */
export class CgiDebugPage {
  readonly #input: CgiDebugPageInput;

  constructor(input: CgiDebugPageInput) {
    this.#input = input;
  }

  /** The body and headers to answer a request whose `Accept` header is `accept`. */
  negotiate(accept: string | undefined): CgiDebugBody {
    if (wantsHtml(accept)) {
      return { headers: { ...COMMON, 'Content-Type': 'text/html; charset=utf-8' }, body: html(this.#input) };
    }
    return { headers: { ...COMMON, 'Content-Type': 'text/plain; charset=utf-8' }, body: text(this.#input) };
  }
}

/**
 * With the `debug` option: gives `shown` (the public copy of `error` a host answers with) the
 * development page, when `error` is a script's 5xx whose facts the gateway recorded. Waits for
 * the run to end (bounded), so the exit status and the last stderr lines are on the page.
 */
export async function attachDebugPage(
  shown: CgiError,
  error: unknown,
  request: { readonly method: string; readonly target: string } | null,
): Promise<void> {
  const pending = debugFactsOf(error);
  if (pending === undefined || request === null || !isScriptFailure(error as CgiError)) return;
  const facts = await pending;
  shown.debugPage = new CgiDebugPage({
    error: error as CgiError,
    facts,
    method: request.method,
    target: request.target,
  });
}
