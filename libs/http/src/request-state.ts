import type { FastifyRequest } from 'fastify';
import type { TraceContext } from '@platform/observability';

/** Who made a request, as recorded in logs and the audit trail (no token, no secret). */
export interface PrincipalRef {
  subject: string;
  type: 'user' | 'service';
  clientId: string | null;
  tenant: string | null;
  issuer: string;
  /** Delegation chain, current actor first (RFC 8693 `act`); empty when the subject acts itself. */
  actors: readonly { subject: string; clientId: string | null }[];
  /** `cnf.jkt` of a DPoP-bound token, else null. */
  boundKeyThumbprint: string | null;
}

/**
 * What the platform learnt about one request while answering it. Created by the onRequest
 * hook, filled by the auth guard and the problem filter, read once by the audit hook.
 */
export interface RequestState {
  /** `process.hrtime.bigint()` at arrival, in nanoseconds. */
  startedAt: bigint;
  decision?: 'allow' | 'deny';
  /** Decision reason code, e.g. `permission_granted`, `expired`, `insufficient_permission`. */
  reason?: string;
  principal?: PrincipalRef;
  /** Permissions the route required (the effective, resolved set). */
  required?: string[];
  /** Feature app that owns the route, e.g. `billing`. */
  app?: string;
  /** Route template, e.g. `/billing/invoices/:id` (never the raw URL with ids or query). */
  route?: string;
  /** Reason code of the error problem sent, when the answer was an error. */
  errorReason?: string;
  /** Safe details of the decision worth auditing (expected audience, offending alg, ...). */
  details?: Record<string, unknown>;
  /** W3C trace context: the caller's trace continued, or a new one. */
  trace?: TraceContext;
  /** The response replays an earlier one (idempotency key): no domain event happened again. */
  replayed?: boolean;
  /** The `@Audited()` domain event of a handler that succeeded, with its resource id; recorded with the access record. */
  event?: { name: string; resourceId: string | null; tenant?: string };
  /** The domain event was written in the handler's own transaction (audit outbox): the response hooks write none. */
  eventInTransaction?: boolean;
  /**
   * The `Idempotency-Key` this request holds a lease on (`token` fences it: only the holder may
   * complete or release the key), the status a success answers, and `completed` once its result
   * was stored in the handler's transaction.
   */
  idempotencyLease?: { tenant: string; subject: string; key: string; token: string; status: number; completed?: boolean };
}

declare module 'fastify' {
  interface FastifyRequest {
    platform: RequestState;
    /** The JSON body exactly as received (for signatures over the raw bytes, e.g. webhooks). */
    rawBody?: string;
  }
}

/** The request's state; created on first access for requests that bypassed the onRequest hook. */
export function requestState(request: FastifyRequest): RequestState {
  if (!request.platform) request.platform = { startedAt: process.hrtime.bigint() };
  return request.platform;
}
