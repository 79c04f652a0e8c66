/**
 * Anything with `debug`/`info`/`warn`/`error` methods taking a message string: `console`,
 * winston and bunyan loggers fit. Each call gets one finished line (see the `logFormat`
 * option); a pino logger is detected and gets `(fields, message)` instead.
 */
export interface CgiLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * The default logger: warnings and errors to stderr, info to stdout, debug dropped. Lines
 * arrive finished (time, level, request id), so they are printed as they are.
 */
export const consoleLogger: CgiLogger = {
  debug() {},
  info(message) {
    console.log(message);
  },
  warn(message) {
    console.error(message);
  },
  error(message) {
    console.error(message);
  },
};

/** A logger that drops everything (`logger: false`). */
export const silentLogger: CgiLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * Quotes untrusted text for a log line: control characters escaped, long text cut,
 * so a script or a client cannot forge log lines or flood the log.
 */
export function quoteForLog(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}
