import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CgiEndEvent } from './events.js';
import type { CgiLog, CgiLogFields } from './log.js';
import { nextRequestId } from './request.js';

/**
 * The access line of a request (`accessLog`): a message with every fact in a fixed order,
 * and the same facts as fields for a structured logger.
 *
 * Message: `client method target status duration exit= in= out=`, then `error=` when the
 * request failed and `redirect=` for a local redirect (status `-`: the script sent no response
 * of its own). In a text line it follows the time, level and request id:
 *
 * @example
 * `2026-05-01T09:30:00.123Z INFO 1kq3-7 127.0.0.1 GET /cgi-bin/hello.sh?x=1 200 12.5ms exit=0 in=0 out=612`
 */
export function accessEntry(event: CgiEndEvent): { message: string; fields: CgiLogFields } {
  const exit = event.signal ?? event.exitCode ?? '-';
  const parts = [
    event.client,
    event.method,
    event.target,
    event.status === 0 ? '-' : String(event.status),
    `${event.durationMs}ms`,
    `exit=${exit}`,
    `in=${event.bytesIn}`,
    `out=${event.bytesOut}`,
  ];
  if (event.errorCode !== undefined) parts.push(`error=${event.errorCode}`);
  if (event.localRedirect !== undefined) parts.push(`redirect=${event.localRedirect}`);
  const fields: CgiLogFields = {
    reqId: event.id,
    client: event.client,
    method: event.method,
    target: event.target,
    status: event.status,
    durationMs: event.durationMs,
    exitCode: event.exitCode,
    signal: event.signal,
    bytesIn: event.bytesIn,
    bytesOut: event.bytesOut,
    scriptName: event.scriptName,
    errorCode: event.errorCode,
    localRedirect: event.localRedirect,
  };
  return { message: parts.join(' '), fields };
}

/**
 * Logs a request that no script answered (a modern route beside the legacy ones, a static
 * file) with the same access line as a script's, once its response is done: one format for
 * every request of the app. Call it when the request arrives. Byte counts come from
 * `Content-Length`; the exit status is `-`.
 *
 * @example
 * ```ts
 * const legacy = cgi({ root: './cgi-bin', accessLog: true });
 * app.use('/cgi-bin', legacy);
 * // Reached only by what the scripts did not answer:
 * app.use((req, res, next) => { logAccess(legacy.gateway.config.logger, req, res); next(); });
 * ```
 */
export function logAccess(log: CgiLog, req: IncomingMessage, res: ServerResponse, client?: string): void {
  const start = performance.now();
  const id = nextRequestId();
  res.once('close', () => {
    const { message, fields } = accessEntry({
      type: 'end',
      id,
      startTime: Math.round(performance.timeOrigin + start),
      method: req.method ?? 'GET',
      target: (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/',
      client: client ?? (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, ''),
      status: res.headersSent ? res.statusCode : 0,
      durationMs: Math.round((performance.now() - start) * 10) / 10,
      exitCode: null,
      signal: null,
      bytesIn: Number(req.headers['content-length'] ?? 0) || 0,
      bytesOut: Number(res.getHeader('content-length') ?? 0) || 0,
      errorCode: res.writableFinished ? undefined : 'ERR_CGI_CLIENT_GONE',
    });
    log.info(message, fields);
  });
}
