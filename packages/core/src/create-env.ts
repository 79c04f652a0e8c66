import { isUtf8 } from 'node:buffer';
import { CgiError } from './errors.js';
import type { CgiConfig } from './options.js';
import { type CgiPeer, peerOf, plainAddress } from './peer.js';
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
      throw new CgiError('ERR_CGI_BAD_REQUEST', `control character in request header ${JSON.stringify(name)}`);
    }
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}${name === 'cookie' ? '; ' : ', '}${value}`);
  }
  return headers;
}

/**
 * Header values arrive as latin1 strings, one character per byte. The script must get the
 * bytes the client sent: valid UTF-8 passes through byte for byte (the environment is
 * encoded as UTF-8); other non-ASCII bytes are refused rather than silently re-encoded.
 */
function headerBytes(name: string, value: string): string {
  if (!/[^\x00-\x7f]/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  if (!isUtf8(bytes)) throw new CgiError('ERR_CGI_BAD_REQUEST', `request header ${JSON.stringify(name)} is not UTF-8`);
  return bytes.toString('utf8');
}

/** Request headers as `HTTP_*` variables, minus those that must never become one. */
function addHeaderVariables(env: Record<string, string>, headers: Map<string, string>, config: CgiConfig): void {
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
    env[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = headerBytes(name, value);
  }
}

/** The authority of an absolute-form request-target (RFC 9112 §3.2.2), which replaces `Host`. */
function absoluteAuthority(target: string): string | undefined {
  return /^https?:\/\/([^/?#]*)/i.exec(target)?.[1];
}

/** `SERVER_NAME` and `SERVER_PORT`: pinned by the operator, else from the (validated, allowed) host. */
function serverIdentity(request: CgiRequest, peer: CgiPeer, config: CgiConfig): { name: string; port: string } {
  let name = plainAddress(request.localAddress);
  if (peer.host !== undefined) {
    if (!HOST.test(peer.host)) throw new CgiError('ERR_CGI_BAD_REQUEST', 'invalid Host header');
    name = peer.host.replace(/:\d+$/, '').toLowerCase();
  }
  if (config.allowedHosts !== undefined && (peer.host === undefined || !config.allowedHosts.has(name))) {
    throw new CgiError('ERR_CGI_HOST_NOT_ALLOWED', `host ${JSON.stringify(peer.host ?? '')} is not in allowedHosts`);
  }
  return { name: config.serverName ?? name, port: String(config.serverPort ?? request.localPort) };
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

  // RFC 9112 §3.2.2: a server must ignore Host when the target names the authority itself.
  const authority = absoluteAuthority(request.target);
  if (authority !== undefined) headers.set('host', authority);
  addHeaderVariables(env, headers, config);
  const peer = peerOf(request, headers, config);
  const server = serverIdentity(request, peer, config);

  env.GATEWAY_INTERFACE = 'CGI/1.1';
  env.SERVER_SOFTWARE = SERVER_SOFTWARE;
  env.SERVER_PROTOCOL = `HTTP/${request.httpVersion}`;
  env.SERVER_NAME = server.name;
  env.SERVER_PORT = server.port;
  env.SERVER_ADDR = plainAddress(request.localAddress);
  env.REQUEST_METHOD = request.method;
  env.REQUEST_URI = request.target;
  env.REQUEST_SCHEME = peer.secure ? 'https' : 'http';
  if (peer.secure) env.HTTPS = 'on';
  env.QUERY_STRING = request.query;
  env.SCRIPT_NAME = match.scriptName;
  env.SCRIPT_FILENAME = match.filename;
  env.DOCUMENT_ROOT = config.docRoot;
  if (match.pathInfo !== '') {
    env.PATH_INFO = match.pathInfo;
    // RFC 3875 §4.1.6: PATH_INFO mapped into the document root (its segments never hold "..").
    env.PATH_TRANSLATED = config.docRoot + match.pathInfo;
  }
  env.REMOTE_ADDR = peer.address;
  // RFC 3875 §4.1.9: with no name lookup done, REMOTE_HOST is the address.
  env.REMOTE_HOST = peer.address;
  env.REMOTE_PORT = String(request.remotePort);
  if (body !== null) {
    if (body.length !== null) env.CONTENT_LENGTH = String(body.length);
    const contentType = headers.get('content-type');
    if (contentType !== undefined) env.CONTENT_TYPE = headerBytes('content-type', contentType);
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
