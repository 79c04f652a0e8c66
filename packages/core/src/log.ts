import { hostname } from 'node:os';
import { type CgiLogger, consoleLogger } from './logger.js';

/** The levels cgibridge logs at, lowest first. */
export type CgiLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * How log lines are written: `'text'` (one line, `time LEVEL reqId message`), `'json'` (one
 * pino-compatible JSON object per line), or `'pino'` (the logger itself takes `(fields, message)`).
 */
export const LOG_FORMATS = ['text', 'json', 'pino'] as const;
/** {@link LOG_FORMATS} as a type. */
export type CgiLogFormat = (typeof LOG_FORMATS)[number];

/**
 * The structured part of a log line. `reqId` ties every line of one request together (its
 * access line, its script's stderr, its failure); the access line adds `client`, `method`,
 * `target`, `status`, `durationMs`, `bytesIn`, `bytesOut`, `exitCode`, `signal`.
 */
export interface CgiLogFields {
  readonly reqId?: string | undefined;
  readonly [field: string]: unknown;
}

/**
 * What cgibridge logs through (`gateway.config.logger`): a message, and fields that a
 * pino-style logger receives as an object and a text line carries as its request id.
 * Any {@link CgiLogger} call (`logger.warn(message)`) still fits.
 */
export interface CgiLog {
  debug(message: string, fields?: CgiLogFields): void;
  info(message: string, fields?: CgiLogFields): void;
  warn(message: string, fields?: CgiLogFields): void;
  error(message: string, fields?: CgiLogFields): void;
}

/** A logger that takes a fields object first, as pino does: `logger.info({ reqId }, message)`. */
type FieldLogger = Record<CgiLogLevel, (fields: CgiLogFields, message: string) => void>;

/** pino's numeric levels (`level` in its JSON lines). */
const PINO_LEVELS: Record<CgiLogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

// C0 and C1 controls but the tab, DEL, and the Unicode line and paragraph separators: anything
// that could end a log line early or drive a terminal.
const CONTROLS = /[\0-\x08\n-\x1f\x7f-\x9f\u2028\u2029]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r' };

/**
 * Escapes control characters (`\n`, `\r`, `\x1b`, `\u2028`...) and nothing else, so text
 * reads as written (quotes, backslashes and non-ASCII stay) and can never start a new log line.
 * @example escapeControls('say "hé"\n\x1b[2J') // 'say "hé"\\n\\x1b[2J'
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`);
  });
}

/**
 * One text log line: ISO time, level, request id (`-` for none) and the message, control
 * characters escaped.
 * @example `2026-05-01T09:30:00.123Z WARN 1kq3-7 /cgi-bin/form.py stderr: KeyError: 'name'`
 */
export function formatTextLine(level: CgiLogLevel, message: string, fields?: CgiLogFields, time = Date.now()): string {
  const reqId = fields?.reqId === undefined ? '-' : escapeControls(String(fields.reqId));
  return `${new Date(time).toISOString()} ${level.toUpperCase()} ${reqId} ${escapeControls(message)}`;
}

const PID = process.pid;
let host: string | undefined;

/**
 * One JSON log line as pino writes it: `level` (number), `time` (epoch ms), `pid`, `hostname`,
 * the fields, `msg`.
 */
export function formatJsonLine(level: CgiLogLevel, message: string, fields?: CgiLogFields, time = Date.now()): string {
  host ??= hostname();
  return JSON.stringify({ level: PINO_LEVELS[level], time, pid: PID, hostname: host, ...fields, msg: message });
}

/** Whether a logger is pino's (pino puts this global symbol on every logger and child). */
export function isPinoLogger(logger: unknown): boolean {
  return typeof logger === 'object' && logger !== null && Symbol.for('pino.serializers') in logger;
}

const LEVELS: readonly CgiLogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A {@link CgiLog} whose four methods all call `write(level, message, fields)`. */
function logOf(write: (level: CgiLogLevel, message: string, fields?: CgiLogFields) => void): CgiLog {
  const log = {} as Record<CgiLogLevel, CgiLog[CgiLogLevel]>;
  for (const level of LEVELS) log[level] = (message, fields) => write(level, message, fields);
  return log;
}

/** Where a logger's lines go: the caller's logger, the default console, or nowhere. */
export type CgiLogTarget =
  | { readonly kind: 'logger'; readonly logger: CgiLogger }
  | { readonly kind: 'console' | 'silent' };

/**
 * The log cgibridge writes through, for a target and a format. `format` defaults to `'pino'`
 * for a pino logger and `'text'` otherwise. The default console writes text lines to stdout
 * (info) and stderr (warn, error), JSON lines all to stdout as pino does; debug is dropped.
 */
export function createCgiLog(target: CgiLogTarget, format?: CgiLogFormat): CgiLog {
  if (target.kind === 'silent') return logOf(() => {});
  const logger = target.kind === 'logger' ? target.logger : consoleLogger;
  const chosen = format ?? (isPinoLogger(logger) ? 'pino' : 'text');
  if (chosen === 'pino') {
    const fielded = logger as unknown as FieldLogger;
    return logOf((level, message, fields) => fielded[level].call(logger, { ...fields }, message));
  }
  const render = chosen === 'json' ? formatJsonLine : formatTextLine;
  if (target.kind === 'console' && chosen === 'json') {
    return logOf((level, message, fields) => {
      if (level !== 'debug') process.stdout.write(`${render(level, message, fields)}\n`);
    });
  }
  return logOf((level, message, fields) => logger[level].call(logger, render(level, message, fields)));
}
