/**
 * @cgibridge/fastify: mount legacy CGI scripts in a Fastify 5 app.
 * @packageDocumentation
 */
import {
  type CgiFrameworkOptions,
  type CgiGateway,
  type CgiHost,
  closeAfterOverrun,
  createFrameworkGateway,
  dispatchCgi,
  groupHeaders,
  holdFirstWrite,
  prepareReentry,
  requestFromNode,
  sendContinue,
} from '@cgibridge/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Options of {@link cgi}: the core options, `trustProxy: 'app'` (Fastify's own `trustProxy`),
 * `user(request)`, and Fastify's `prefix`. `logger` defaults to the app's logger (`fastify.log`).
 */
export interface CgiFastifyOptions extends CgiFrameworkOptions<FastifyRequest> {
  /** Fastify's route prefix for the plugin, e.g. `/cgi-bin`: the mount, part of `SCRIPT_NAME`. */
  prefix?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Inside the plugin's own scope: the gateway behind it (running count, `close()`). */
    cgi?: CgiGateway;
  }
}

type Context = { readonly request: FastifyRequest; readonly reply: FastifyReply };

/**
 * Fastify plugin that runs CGI scripts (RFC 3875): `app.register(cgi, { prefix: '/cgi-bin', root })`.
 * Every method, every path below the prefix. The body reaches the script as it streams in
 * (no content-type parser runs in the plugin's scope). No script: the app's not-found handler.
 * Errors before the response go to the app's error handler with `statusCode`, `expose` and
 * `headers`. Local redirects re-enter the app's router as a GET. Scripts are killed when the app closes.
 *
 * @example
 * ```ts
 * const app = Fastify({ logger: true });
 * await app.register(cgi, { prefix: '/cgi-bin', root: './cgi-bin' });
 * acceptExpectContinue(app.server);
 * ```
 * @throws CgiOptionError (a TypeError) at registration, naming a wrong option.
 */
export const cgi: FastifyPluginAsync<CgiFastifyOptions> = async (fastify, options) => {
  const { prefix: _prefix, ...rest } = options;
  const { gateway, user, trustApp } = createFrameworkGateway({ ...rest, logger: rest.logger ?? fastify.log });
  const own = gateway.config.mountPath;
  const host: CgiHost<Context> = {
    request: ({ request, reply }) =>
      requestFromNode(gateway, request.raw, reply.raw, {
        basePath: '',
        // As sent, before Fastify's router decoded it or a rewriteUrl changed it.
        url: request.originalUrl,
        originalUrl: request.originalUrl,
        mountPath: fastify.prefix + own,
        user: user?.(request),
        remoteAddress: trustApp ? request.ip : undefined,
        secure: trustApp ? request.protocol === 'https' : undefined,
        host: trustApp ? request.hostname : undefined,
      }),
    fallThrough: ({ request, reply }) => {
      sendContinue(request.raw, reply.raw);
      return reply.callNotFound();
    },
    reenter: ({ request, reply }, location, chain) => {
      // Through the app's router from the top: a script or a modern route, else its 404.
      prepareReentry(request.raw, location, chain);
      // Each pass through the router adds its own response listeners (logging, onResponse hooks).
      reply.raw.setMaxListeners(reply.raw.getMaxListeners() + 1);
      reply.hijack();
      fastify.routing(request.raw, reply.raw);
    },
    send: ({ reply }, result) => {
      reply.code(result.status);
      if (result.statusText !== undefined) reply.raw.statusMessage = result.statusText;
      for (const [name, value] of groupHeaders(result.headers)) reply.header(name, value);
      if (result.body !== null) {
        closeAfterOverrun(result.body, reply.raw);
        holdFirstWrite(reply.raw, result.body);
      }
      return reply.send(result.body ?? undefined);
    },
    // The development page (option debug) is the answer itself; anything else goes to the app's error handler.
    fail: ({ request, reply }, error) => {
      const page = error.debugPage?.negotiate(request.headers.accept);
      if (page === undefined) return reply.send(error);
      return reply
        .code(error.status)
        .headers({ ...error.headers, ...page.headers })
        .send(page.body);
    },
    abort: ({ reply }) => reply.raw.destroy(),
  };

  fastify.decorate('cgi', gateway);
  fastify.addHook('onClose', () => gateway.close());
  // The script reads the body itself: a parser here would buffer it (and 415 unknown types).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    await dispatchCgi(gateway, host, { request, reply });
    return reply;
  };
  fastify.all(`${own}/*`, handler);
  fastify.all(own || '/', handler);
};

export { acceptExpectContinue, type CgiUser } from '@cgibridge/core';
