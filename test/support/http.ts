import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface Reply {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as sent, in order. */
  readonly rawHeaders: string[];
  readonly body: Buffer;
  readonly text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | AsyncIterable<Buffer>;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
  /** An agent to go through (e.g. an HttpProxyAgent); default: a fresh connection. */
  agent?: import('node:http').Agent;
}

/** One HTTP request over a new connection; resolves with the complete reply. */
export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...options.headers };
    const body = options.body;
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      if (!options.chunked) headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    // The path goes out verbatim: WHATWG URL parsing would resolve "%2e%2e" before it left.
    const match = /^http:\/\/([^/:]+):(\d+)(.*)$/.exec(url);
    if (match === null) throw new Error(`not an http://host:port URL: ${url}`);
    const target = { host: match[1], port: Number(match[2]), path: match[3] || '/' };
    const req = httpRequest(
      { ...target, method: options.method ?? 'GET', headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const buffer = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: buffer,
            text: buffer.toString('utf8'),
          });
        });
      },
    );
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      void (async () => {
        try {
          for await (const chunk of body) {
            if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
          }
          req.end();
        } catch (error) {
          req.destroy(error as Error);
        }
      })();
    }
  });
}

/** Sends raw bytes and collects everything until the server closes or `idleMs` passes in silence. */
export function rawRequest(port: number, data: string | Buffer, idleMs = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    };
    socket.on('connect', () => {
      socket.write(data);
      arm();
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      arm();
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (error) => {
      if (chunks.length > 0) done();
      else reject(error);
    });
  });
}

/** Parses a JSON body, failing with the text when it is not JSON. */
export function json<T = unknown>(reply: Reply): T {
  try {
    return JSON.parse(reply.text) as T;
  } catch {
    throw new Error(`not JSON (status ${reply.status}): ${reply.text.slice(0, 500)}`);
  }
}
