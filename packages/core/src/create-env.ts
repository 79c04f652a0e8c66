import { isIP } from 'node:net';
import { CgiError } from './errors.js';
import type { CgiConfig } from './options.js';
import type { CgiRequest } from './request.js';
import type { CgiScriptMatch } from './resolve-script.js';

/** `SERVER_SOFTWARE`. */
export const SERVER_SOFTWARE = 'cgibridge/0.1';

// Hop-by-hop fields (RFC 9110 §7.6.1) describe this connection, not the request.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
// A header name that would map onto another variable once `-` became `_`, or
// that holds anything but letters, digits and `-`, is dropped (Apache does the same).
const SAFE_NAME = /^[A-Za-z0-9-]+$/;
// Field values must not carry control characters other than tab (RFC 9110 §5.5).
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Facts about the connection a request came over, after applying `trustProxy`. */
interface Peer {
  readonly address: string;
  readonly secure: boolean;
  readonly host: string | undefined;
}

/** `::ffff:127.0.0.1` (a dual-stack socket's view of an IPv4 peer) is `127.0.0.1` to a script. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function lastValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',');
  return parts[parts.length - 1]?.trim() || undefined;
}

/** What a chain of proxies says about the client: hop addresses (left to right), scheme, host. */
interface ForwardedChain {
  readonly hops: string[];
  readonly proto: string | undefined;
  readonly host: string | undefined;
}

/** A `Forwarded` node (RFC 7239 §6): quotes, IPv6 brackets and a port removed. */
function forwardedNode(value: string): string {
  const unquoted = value.replace(/^"(.*)"$/, '$1');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(unquoted);
  if (bracketed) return bracketed[1] as string;
  return plainAddress(unquoted.replace(/:\d+$/, ''));
}

/**
 * Reads the proxy chain from `Forwarded` (RFC 7239) when present, else from the
 * `X-Forwarded-For/-Proto/-Host` de-facto headers. Scheme and host come from the last
 * element: the one the trusted proxy in front of us wrote.
 */
function forwardedChain(headers: Map<string, string>): ForwardedChain | undefined {
  const forwarded = headers.get('forwarded');
  if (forwarded !== undefined) {
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
      proto: last
        ?.get('proto')
        ?.replace(/^"(.*)"$/, '$1')
        .toLowerCase(),
      host: last?.get('host')?.replace(/^"(.*)"$/, '$1') || undefined,
    };
  }
  const forwardedFor = headers.get('x-forwarded-for');
  const proto = lastValue(headers.get('x-forwarded-proto'))?.toLowerCase();
  const host = lastValue(headers.get('x-forwarded-host'));
  if (forwardedFor === undefined && proto === undefined && host === undefined) return undefined;
  return { hops: (forwardedFor ?? '').split(',').map((hop) => plainAddress(hop.trim())), proto, host };
}

/**
 * The peer as the script should see it. `Forwarded` / `X-Forwarded-*` count only when
 * the connection comes from a trusted proxy; then the chain is walked from the right,
 * skipping trusted hops, so a client cannot choose its own address. A hop that is not an
 * address (`unknown`, an obfuscated `_id`, garbage) ends the walk.
 */
function peerOf(request: CgiRequest, headers: Map<string, string>, config: CgiConfig): Peer {
  const address = plainAddress(request.remoteAddress);
  const direct = { address, secure: request.secure, host: request.host ?? headers.get('host') };
  if (!config.trustProxy(address)) return direct;
  const chain = forwardedChain(headers);
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

/**
 * Collects request headers by lower-case name: repeated fields joined with `, `
 * (`Cookie` with `; `, RFC 9110 §5.3 and RFC 6265 §5.4).
 *
 * @throws CgiError 400 for a value with control characters.
 */
export function collectHeaders(rawHeaders: readonly string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    if (BAD_VALUE.test(value)) {
      throw new CgiError('ERR_CGI_BAD_REQUEST', 400, `control character in request header ${JSON.stringify(name)}`);
    }
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}${name === 'cookie' ? '; ' : ', '}${value}`);
  }
  return headers;
}

/**
 * Builds a script's environment (RFC 3875 §4.1) from the request, the matched script,
 * and the configuration.
 *
 * Order of precedence, lowest first: inherited allow-list and `PATH`, `HTTP_*`
 * variables, the CGI meta-variables, the operator's `env`. Nothing from the server's
 * own environment outside the allow-list reaches the script.
 *
 * @param body - `null` when the request has no body; else its length, `null` when unknown (streamed chunked body).
 * @throws CgiError 400 for an invalid `Host` or a header value with control characters.
 */
export function createCgiEnv(
  request: CgiRequest,
  match: CgiScriptMatch,
  config: CgiConfig,
  headers: Map<string, string>,
  body: { readonly length: number | null } | null,
): Record<string, string> {
  // Object.assign, not a spread: V8 gives a spread's result a map that every later store
  // transitions away from, which made this function cost about 20 µs instead of 1.
  const env: Record<string, string> = Object.assign({}, config.baseEnv);

  // Headers listed in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  const nominated = new Set(
    (headers.get('connection') ?? '')
      .toLowerCase()
      .split(',')
      .map((name) => name.trim()),
  );
  for (const [name, value] of headers) {
    if (
      !SAFE_NAME.test(name) ||
      HOP_BY_HOP.has(name) ||
      nominated.has(name) ||
      // httpoxy (CVE-2016-5385): HTTP_PROXY would be read as the outbound proxy.
      name === 'proxy' ||
      name.startsWith('proxy-') ||
      name === 'content-type' ||
      name === 'content-length' ||
      (name === 'authorization' && !config.passAuthorization)
    ) {
      continue;
    }
    env[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = value;
  }

  const peer = peerOf(request, headers, config);
  let serverName = plainAddress(request.localAddress);
  if (peer.host !== undefined) {
    if (!HOST.test(peer.host)) throw new CgiError('ERR_CGI_BAD_REQUEST', 400, 'invalid Host header');
    serverName = peer.host.replace(/:\d+$/, '').toLowerCase();
  }

  env.GATEWAY_INTERFACE = 'CGI/1.1';
  env.SERVER_SOFTWARE = SERVER_SOFTWARE;
  env.SERVER_PROTOCOL = `HTTP/${request.httpVersion}`;
  env.SERVER_NAME = serverName;
  env.SERVER_PORT = String(request.localPort);
  env.SERVER_ADDR = plainAddress(request.localAddress);
  env.REQUEST_METHOD = request.method;
  env.REQUEST_URI = request.target;
  env.REQUEST_SCHEME = peer.secure ? 'https' : 'http';
  if (peer.secure) env.HTTPS = 'on';
  env.QUERY_STRING = request.query;
  env.SCRIPT_NAME = match.scriptName;
  env.SCRIPT_FILENAME = match.filename;
  if (config.documentRoot !== undefined) env.DOCUMENT_ROOT = config.documentRoot;
  if (match.pathInfo !== '') {
    env.PATH_INFO = match.pathInfo;
    if (config.translateRoot !== undefined) env.PATH_TRANSLATED = config.translateRoot + match.pathInfo;
  }
  env.REMOTE_ADDR = peer.address;
  env.REMOTE_PORT = String(request.remotePort);
  if (body !== null) {
    if (body.length !== null) env.CONTENT_LENGTH = String(body.length);
    const contentType = headers.get('content-type');
    if (contentType !== undefined) env.CONTENT_TYPE = contentType;
  }
  if (request.user !== undefined) {
    env.REMOTE_USER = request.user.name;
    if (request.user.authType !== undefined) env.AUTH_TYPE = request.user.authType;
  }

  const extra = typeof config.env === 'function' ? config.env(request) : config.env;
  if (extra !== undefined) {
    for (const [name, value] of Object.entries(extra)) {
      if (value === undefined) delete env[name];
      else env[name] = String(value);
    }
  }
  return env;
}
