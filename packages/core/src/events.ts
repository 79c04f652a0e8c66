import { accessEntry } from './access-log.js';
import { collectHeaders } from './create-env.js';
import type { CgiConfig } from './options.js';
import { peerOf } from './peer.js';
import type { CgiRequest } from './request.js';
import type { CgiExit } from './spawner.js';

/** What a request ended with, reported once per request through `onEvent`. */
export interface CgiEndEvent {
  readonly type: 'end';
  readonly id: string;
  /** When the request arrived, in epoch milliseconds. */
  readonly startTime: number;
  readonly method: string;
  /** The original request-target. */
  readonly target: string;
  /**
   * The client address the script saw (`REMOTE_ADDR`); when no script ran, the one it would have
   * seen (the peer, or the client a trusted proxy names).
   */
  readonly client: string;
  /** `SCRIPT_NAME` of the script that ran, if one did. */
  readonly scriptName?: string | undefined;
  /**
   * The status sent to the client; when the response was cut short after it started,
   * `errorCode` says why. 0 when this script sent no response of its own: a local
   * redirect (see `localRedirect`) or a connection gone before any answer.
   */
  readonly status: number;
  /** Where the script's local redirect (RFC 3875 §6.2.2) sent the request, if it did. */
  readonly localRedirect?: string | undefined;
  /** Milliseconds from the start of the request until both response and script finished. */
  readonly durationMs: number;
  /** Exit code of the script, or `null` when it was killed by a signal or never ran. */
  readonly exitCode: number | null;
  /** Signal that ended the script, if any. */
  readonly signal: NodeJS.Signals | null;
  /** Request body bytes written to the script's stdin. */
  readonly bytesIn: number;
  /** Response body bytes sent to the client. */
  readonly bytesOut: number;
  /** Error code when the request failed (`ERR_CGI_TIMEOUT`, ...). */
  readonly errorCode?: string | undefined;
}

/** A script was started. */
export interface CgiSpawnEvent {
  readonly type: 'spawn';
  readonly id: string;
  readonly scriptName: string;
  readonly pid: number;
  /** Which spawner started it (`child_process`, `native`, `warm-python`). */
  readonly spawner: string;
}

/** The script printed a valid header block. */
export interface CgiHeadersEvent {
  readonly type: 'headers';
  readonly id: string;
  readonly scriptName: string;
  readonly status: number;
}

/** Per-request observations, in order: `spawn`, `headers`, `end`. */
export type CgiEvent = CgiSpawnEvent | CgiHeadersEvent | CgiEndEvent;

/** What a run knows when it ends; the rest of the end event comes from the request. */
export interface CgiEndFields {
  scriptName?: string | undefined;
  client?: string | undefined;
  status: number;
  exit?: CgiExit | undefined;
  bytesIn?: number;
  bytesOut?: number;
  errorCode?: string | undefined;
  localRedirect?: string | undefined;
}

/**
 * Delivers events to `onEvent`, which must not throw: if it does, the error is logged, never
 * propagated. With `accessLog`, each `end` is also logged as the request's access line.
 */
export class CgiEventSink {
  readonly #config: CgiConfig;

  /** Reads `onEvent`, `logger` and `accessLog`, and the proxy trust for a client no script saw. */
  constructor(config: CgiConfig) {
    this.#config = config;
  }

  emit(event: CgiEvent): void {
    const { onEvent } = this.#config;
    if (onEvent === undefined) return;
    try {
      onEvent(event);
    } catch (error) {
      this.#config.logger.error(`onEvent threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /** The `end` event of a request that started at `start` (a `performance.now()` reading). */
  end(request: CgiRequest, start: number, fields: CgiEndFields): void {
    const { onEvent, accessLog, logger } = this.#config;
    if (onEvent === undefined && !accessLog) return;
    const event: CgiEndEvent = {
      type: 'end',
      id: request.id,
      startTime: Math.round(performance.timeOrigin + start),
      method: request.method,
      target: request.target,
      client: fields.client ?? this.#clientOf(request),
      scriptName: fields.scriptName,
      status: fields.status,
      durationMs: Math.round((performance.now() - start) * 10) / 10,
      exitCode: fields.exit?.code ?? null,
      signal: fields.exit?.signal ?? null,
      bytesIn: fields.bytesIn ?? 0,
      bytesOut: fields.bytesOut ?? 0,
      errorCode: fields.errorCode,
      localRedirect: fields.localRedirect,
    };
    if (accessLog) {
      const { message, fields: logged } = accessEntry(event);
      logger.info(message, logged);
    }
    this.emit(event);
  }

  /** `REMOTE_ADDR` as a script would have seen it. */
  #clientOf(request: CgiRequest): string {
    try {
      return peerOf(request, collectHeaders(request.rawHeaders), this.#config).address;
    } catch {
      // Headers the gateway refused (a 400): the peer as it connected.
      return request.remoteAddress;
    }
  }
}
