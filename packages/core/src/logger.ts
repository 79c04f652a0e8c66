/**
 * Anything with `debug`/`info`/`warn`/`error` methods taking a message string:
 * `console`, pino, winston and bunyan loggers all fit.
 */
export interface CgiLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const PREFIX = 'cgibridge:';

/** The default logger: warnings and errors to stderr, info to stdout, debug dropped. */
export const consoleLogger: CgiLogger = {
  debug() {},
  info(message) {
    console.log(PREFIX, message);
  },
  warn(message) {
    console.error(PREFIX, message);
  },
  error(message) {
    console.error(PREFIX, message);
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
