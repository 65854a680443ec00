import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AUDITED_EVENT_CONFIG, auditedEventOf, type AuditedEvent } from './audited.decorator';

const event: AuditedEvent = { name: 'billing.invoice.created' };

describe('auditedEventOf', () => {
  it("reads the route config the onRequest hook kept, without building Fastify's routeOptions again", () => {
    const request = {
      platform: { startedAt: 0n, routeConfig: { [AUDITED_EVENT_CONFIG]: event } },
      get routeOptions(): never {
        throw new Error('routeOptions read again');
      },
    } as unknown as FastifyRequest;
    expect(auditedEventOf(request)).toBe(event);
  });

  it('falls back to routeOptions for a request the hook did not see', () => {
    const request = { routeOptions: { config: { [AUDITED_EVENT_CONFIG]: event } } } as unknown as FastifyRequest;
    expect(auditedEventOf(request)).toBe(event);
    expect(auditedEventOf({ routeOptions: { config: {} } } as unknown as FastifyRequest)).toBeUndefined();
  });
});
