import { isIP } from 'node:net';
import type { CgiConfig, CgiForwardedHeaders } from './options.js';
import type { CgiRequest } from './request.js';

/** Facts about the connection a request came over, after applying `trustProxy`. */
export interface CgiPeer {
  readonly address: string;
  readonly secure: boolean;
  /** `Host` (with its port, if any) as the client or the trusted proxy gave it. */
  readonly host: string | undefined;
}

/** `::ffff:127.0.0.1` (a dual-stack socket's view of an IPv4 peer) is `127.0.0.1` to a script. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function lastValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',');
  return parts[parts.length - 1]?.trim() || undefined;
}

const unquote = (value: string | undefined) => value?.replace(/^"(.*)"$/, '$1');

/** What a chain of proxies says about the client: hop addresses (left to right), scheme, host. */
interface ForwardedChain {
  readonly hops: string[];
  readonly proto: string | undefined;
  readonly host: string | undefined;
}

/** A `Forwarded` node (RFC 7239 §6): quotes, IPv6 brackets and a port removed. */
function forwardedNode(value: string): string {
  const unquoted = unquote(value) as string;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(unquoted);
  if (bracketed) return bracketed[1] as string;
  return plainAddress(unquoted.replace(/:\d+$/, ''));
}

/** RFC 7239 `Forwarded`; scheme and host come from the last element, the one the trusted proxy wrote. */
function fromForwarded(forwarded: string | undefined): ForwardedChain | undefined {
  if (forwarded === undefined) return undefined;
  const elements = forwarded.split(',').map((element) => {
    const pairs = new Map<string, string>();
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0) pairs.set(pair.slice(0, eq).trim().toLowerCase(), pair.slice(eq + 1).trim());
    }
    return pairs;
  });
  const last = elements[elements.length - 1];
  return {
    hops: elements.map((pairs) => forwardedNode(pairs.get('for') ?? '')),
    proto: unquote(last?.get('proto'))?.toLowerCase(),
    host: unquote(last?.get('host')) || undefined,
  };
}

/** The de-facto `X-Forwarded-For/-Proto/-Host`. */
function fromXForwarded(headers: Map<string, string>): ForwardedChain | undefined {
  const forwardedFor = headers.get('x-forwarded-for');
  const proto = lastValue(headers.get('x-forwarded-proto'))?.toLowerCase();
  const host = lastValue(headers.get('x-forwarded-host'));
  if (forwardedFor === undefined && proto === undefined && host === undefined) return undefined;
  return { hops: (forwardedFor ?? '').split(',').map((hop) => plainAddress(hop.trim())), proto, host };
}

function chainOf(headers: Map<string, string>, family: CgiForwardedHeaders): ForwardedChain | undefined {
  // Only the family the proxy writes: a proxy that writes X-Forwarded-* passes a client's own
  // `Forwarded` through untouched, and believing it would let the client choose its address.
  return family === 'forwarded' ? fromForwarded(headers.get('forwarded')) : fromXForwarded(headers);
}

/**
 * The peer as the script should see it. Forwarded headers (of the `forwardedHeaders` family)
 * count only when the connection comes from a trusted proxy; then the chain is walked from the
 * right, skipping trusted hops, so a client cannot choose its own address. A hop that is not
 * an address (`unknown`, an obfuscated `_id`, garbage) ends the walk.
 */
export function peerOf(request: CgiRequest, headers: Map<string, string>, config: CgiConfig): CgiPeer {
  const address = plainAddress(request.remoteAddress);
  const direct = { address, secure: request.secure, host: request.host ?? headers.get('host') };
  if (!config.trustProxy(address)) return direct;
  const chain = chainOf(headers, config.forwardedHeaders);
  if (chain === undefined) return direct;
  let client = address;
  for (let i = chain.hops.length - 1; i >= 0; i--) {
    const hop = chain.hops[i] as string;
    if (isIP(hop) === 0) break;
    client = hop;
    if (!config.trustProxy(hop)) break;
  }
  return {
    address: client,
    secure: chain.proto === undefined ? request.secure : chain.proto === 'https',
    host: chain.host ?? direct.host,
  };
}
