// A minimal forwarding HTTP proxy, run as its own process: it listens on 127.0.0.1 and connects
// onward from 127.0.0.2, so the origin can tell the proxy (127.0.0.2) from the client (127.0.0.1).
// Like nginx's usual configuration it writes X-Forwarded-For and X-Forwarded-Proto, and passes
// every other header on untouched (a client's own `Forwarded` among them). Prints its port.
import { createServer, request } from 'node:http';

const server = createServer((req, res) => {
  const target = new URL(req.url ?? '/');
  const headers = { ...req.headers };
  delete headers['proxy-connection'];
  delete headers['proxy-authorization'];
  const previous = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = `${previous ? `${previous}, ` : ''}${req.socket.remoteAddress}`;
  headers['x-forwarded-proto'] = 'http';
  const upstream = request(
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
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => process.exit(0));
