import type { CgiEndEvent } from './events.js';
import type { CgiLogFields } from './log.js';

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
