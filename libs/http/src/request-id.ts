import type { IncomingMessage } from 'node:http';
import { uuidV7 } from './uuid-v7';

export const REQUEST_ID_HEADER = 'x-request-id';
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify `genReqId`: reuses a caller's `X-Request-Id` when it is 1-128 safe characters
 * (so ids correlate across services without opening a log-injection hole), else a new UUID v7
 * (time-ordered: the audit table's `request_id` index then grows at its right edge, see uuid-v7.ts).
 */
export function requestIdFrom(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  if (typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming)) return incoming;
  return uuidV7();
}
