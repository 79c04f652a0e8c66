import type { Readable } from 'node:stream';
import type { CgiRedirectChain } from './request.js';

/** A response to send: a document or a client redirect, body still streaming. */
export interface CgiDocumentResult {
  readonly kind: 'document' | 'client-redirect';
  readonly status: number;
  readonly statusText: string | undefined;
  /** Header fields in the script's order; repeated names (`Set-Cookie`) kept as separate entries. */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  /**
   * The body, or `null` when the response has none (HEAD, 204, 304). It errors when
   * the response must be aborted (timeout, length mismatch): destroy the connection then.
   */
  readonly body: Readable | null;
  /** `SCRIPT_NAME` of the script, when one ran. */
  readonly scriptName: string | undefined;
}

/** The script asked the server to answer another local path instead (RFC 3875 §6.2.2). */
export interface CgiLocalRedirectResult {
  readonly kind: 'local-redirect';
  /** The path (and query) to serve as a fresh GET. */
  readonly location: string;
  readonly scriptName: string;
  /** Hand this to the re-entered request (`CgiRequest.chain`): the hops share a slot and a hop count. */
  readonly chain: CgiRedirectChain;
}

/** What {@link CgiGateway.run} produces. */
export type CgiResult = CgiDocumentResult | CgiLocalRedirectResult;

/** A redirect the gateway answers itself (a directory without its slash, a non-canonical path). */
export function clientRedirect(status: 301 | 308, location: string): CgiDocumentResult {
  return {
    kind: 'client-redirect',
    status,
    statusText: undefined,
    headers: [['Location', location]],
    body: null,
    scriptName: undefined,
  };
}
