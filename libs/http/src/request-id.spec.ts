import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestIdFrom } from './request-id';

const requestWith = (headers: IncomingMessage['headers']): IncomingMessage => ({ headers }) as IncomingMessage;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('requestIdFrom (Fastify genReqId)', () => {
  it("keeps a caller's safe X-Request-Id as it is, whatever its format", () => {
    for (const id of ['abc-123', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', 'svc:a.b_c', 'x'.repeat(128)]) {
      expect(requestIdFrom(requestWith({ 'x-request-id': id }))).toBe(id);
    }
  });

  it('generates a time-ordered UUID v7 without one, or instead of an unsafe one', () => {
    const before = Date.now();
    const ids = [{}, { 'x-request-id': 'a b' }, { 'x-request-id': 'x'.repeat(129) }, { 'x-request-id': '' }].map((h) =>
      requestIdFrom(requestWith(h)),
    );
    for (const id of ids) {
      expect(id).toMatch(UUID_V7);
      expect(Buffer.from(id.replaceAll('-', ''), 'hex').readUIntBE(0, 6)).toBeGreaterThanOrEqual(before);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
