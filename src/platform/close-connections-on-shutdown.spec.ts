import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { closeConnectionsOnShutdown } from './close-connections-on-shutdown';

describe('closeConnectionsOnShutdown', () => {
  it('answers keep the connection until the close begins; from then on every answer says Connection: close', async () => {
    const fastify = Fastify();
    const begin = closeConnectionsOnShutdown(fastify);
    fastify.get('/thing', () => ({ ok: true }));
    try {
      const before = await fastify.inject({ method: 'GET', url: '/thing' });
      expect(before.statusCode).toBe(200);
      expect(before.headers.connection).not.toBe('close');
      begin();
      const after = await fastify.inject({ method: 'GET', url: '/thing' });
      expect(after.statusCode).toBe(200);
      expect(after.json()).toEqual({ ok: true });
      expect(after.headers.connection).toBe('close');
    } finally {
      await fastify.close();
    }
  });
});
