import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal forwarding HTTP proxy on 127.0.0.1 that connects onward from 127.0.0.2, so the
 * origin can tell the proxy (127.0.0.2) from the client (127.0.0.1). Like a real proxy it
 * appends the client's address to X-Forwarded-For and passes other headers on.
 */
export async function startForwardProxy(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? '/');
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const previous = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = `${previous ? `${previous}, ` : ''}${req.socket.remoteAddress}`;
    headers['x-forwarded-proto'] = 'http';
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers,
        localAddress: '127.0.0.2',
      },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.rawHeaders);
        reply.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
