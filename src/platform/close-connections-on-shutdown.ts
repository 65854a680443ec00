import type { FastifyInstance } from 'fastify';

/**
 * Makes a graceful close end keep-alive connections. Fastify closes the connections idle when
 * the close begins, but one busy then (a request in flight) stays open once it is answered, and
 * the close waits for it until the keep-alive timeout (72 s): longer than an orchestrator's grace
 * period, after which the process is killed. From `begin()` on, every response carries
 * `Connection: close` (RFC 9112 section 9.6), so Node closes its connection right after it.
 *
 * Register before the server listens (Fastify takes no hooks after that).
 *
 * @returns `begin`, to call when the close starts
 */
export function closeConnectionsOnShutdown(fastify: FastifyInstance): () => void {
  let closing = false;
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
  return () => {
    closing = true;
  };
}
