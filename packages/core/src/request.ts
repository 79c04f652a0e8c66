import type { Readable } from 'node:stream';
import type { CgiSlot } from './process-pool.js';

/**
 * The framework-neutral request the gateway runs. Adapters build one from their
 * framework's request (`requestFromNode` for those on `node:http`).
 */
export interface CgiRequest {
  /** Request id used in log lines and events. */
  readonly id: string;
  /** `GET`, `POST`, ... as received. */
  readonly method: string;
  /** The original request-target, un-stripped (becomes `REQUEST_URI`). */
  readonly target: string;
  /** The URL prefix the gateway is mounted at, as matched (`''` at the root). Starts `SCRIPT_NAME`. */
  readonly mountPath: string;
  /** The raw (still percent-encoded) URL path below the mount: `''` or starting with `/`. */
  readonly path: string;
  /** The raw query string without `?` (`''` when none). */
  readonly query: string;
  /** Header names and values as received, flat: `[name, value, name, value, ...]`. */
  readonly rawHeaders: readonly string[];
  /** The request body, or `null` when the request has none (e.g. a local redirect). */
  readonly body: Readable | null;
  /** `1.1` or `1.0`. */
  readonly httpVersion: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The connection is TLS (or, from an adapter, the framework's proxy trust says HTTPS). */
  readonly secure: boolean;
  /** Host as the framework's own proxy trust computed it; `SERVER_NAME` then comes from it, not the Host header. */
  readonly host?: string | undefined;
  /** Identity established by the application (becomes `REMOTE_USER`/`AUTH_TYPE`). */
  readonly user?: CgiUser | undefined;
  /** Aborted when the client goes away; the gateway kills the script then. */
  readonly signal: AbortSignal;
  /** The local-redirect chain (RFC 3875 §6.2.2) that led to this request; `undefined` for a client's own request. */
  readonly chain?: CgiRedirectChain | undefined;
  /**
   * Sends `100 Continue` when the client asked for it (`Expect: 100-continue`) and it has not
   * been sent: the gateway calls it only once it has decided to read the body.
   */
  readonly sendContinue?: (() => void) | undefined;
}

/** The hops of one local-redirect chain share one slot of `maxConcurrent` and one hop counter. */
export interface CgiRedirectChain {
  /** Local redirects so far (1 for the first re-entry). */
  readonly hops: number;
  /** The slot of the hop that redirected: the next hop in the same gateway shares it. */
  readonly slot: CgiSlot;
}

/** An authenticated identity supplied by the application, never parsed from `Authorization`. */
export interface CgiUser {
  /** Becomes `REMOTE_USER`. */
  readonly name: string;
  /** Becomes `AUTH_TYPE`, e.g. `Basic` or `Bearer`. */
  readonly authType?: string | undefined;
}

let sequence = 0;
const idPrefix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;

/** A short process-unique id for log lines. */
export function nextRequestId(): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return `${idPrefix}-${sequence.toString(36)}`;
}

/**
 * A request the server makes up itself (a dry run, a check, a test): a GET from 127.0.0.1 to
 * 127.0.0.1:80 over HTTP/1.1 with no body and no way to be aborted, unless `fields` say otherwise.
 */
export function localRequest(fields: Partial<CgiRequest> & { readonly target: string }): CgiRequest {
  const mountPath = fields.mountPath ?? '';
  const { path, query } = splitTarget(fields.target);
  return {
    id: nextRequestId(),
    method: 'GET',
    mountPath,
    path: path.slice(mountPath.length),
    query,
    rawHeaders: ['Host', 'localhost'],
    body: null,
    httpVersion: '1.1',
    remoteAddress: '127.0.0.1',
    remotePort: 40000,
    localAddress: '127.0.0.1',
    localPort: 80,
    secure: false,
    signal: new AbortController().signal,
    ...fields,
  };
}

/** Splits a request-target into its raw path and query. */
export function splitTarget(target: string): { path: string; query: string } {
  // absolute-form (RFC 9112 §3.2.2): servers must accept it; only the path matters here.
  const authority = /^https?:\/\/[^/?#]*/i.exec(target);
  if (authority !== null) target = target.slice(authority[0].length) || '/';
  const q = target.indexOf('?');
  // A fragment never reaches a server, but a hand-made request may carry one.
  const end = target.indexOf('#');
  const stop = end === -1 ? target.length : end;
  if (q === -1 || q > stop) return { path: target.slice(0, stop), query: '' };
  return { path: target.slice(0, q), query: target.slice(q + 1, stop) };
}
