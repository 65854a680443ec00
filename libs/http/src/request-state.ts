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
 * hook, read once by the audit hook. Each field has one writer, named on it: a step of the auth
 * guard (`libs/auth/src/platform-auth.guard.ts` and its `pipeline/`), the problem filter, or the
 * named hook or decorator. Nothing else assigns them.
 */
export interface RequestState {
  /** `process.hrtime.bigint()` at arrival, in nanoseconds. Writer: the onRequest hook (or {@link requestState}). */
  startedAt: bigint;
  /**
   * Writer: {@link recordDecision} only: the guard's steps (through their one refusal mapping) and,
   * on a public route authenticated otherwise (webhook signatures), its handler.
   */
  decision?: 'allow' | 'deny';
  /** Decision reason code, e.g. `permission_granted`, `expired`, `insufficient_permission`. Writer: {@link recordDecision}. */
  reason?: string;
  /**
   * Writer: the guard: the token step's principal, replaced by the principal-state step's (with
   * role bindings and service-account scopes). Handlers read it through `@CurrentPrincipal()` or `@TenantPrincipal()`.
   */
  principal?: PrincipalRef;
  /** Permissions the route required (the effective, resolved set). Writer: the guard, from the route's policy. */
  required?: string[];
  /** Feature app that owns the route, e.g. `billing`. Writer: the guard, first thing. */
  app?: string;
  /**
   * Route template, e.g. `/billing/invoices/:id` (never the raw URL with ids or query): Fastify's
   * `request.routeOptions.url`. Writer: the onRequest hook.
   */
  route?: string;
  /**
   * The route's Fastify config (`request.routeOptions.config`: its `@Audited()` event). Writer: the
   * onRequest hook, which reads `request.routeOptions` once: Fastify builds a new object on every read.
   */
  routeConfig?: object;
  /** Reason code of the error problem sent, when the answer was an error. Writer: the problem filter (or the malformed-URL hook). */
  errorReason?: string;
  /**
   * Safe details of the decision worth auditing (expected audience, offending alg, ...). Writers:
   * {@link recordDecision} sets them with a decision; handlers and interceptors only add to them
   * with {@link addAuditDetails}.
   */
  details?: Record<string, unknown>;
  /** W3C trace context: the caller's trace continued, or a new one. Writer: the onRequest hook. */
  trace?: TraceContext;
  /** The response replays an earlier one (idempotency key): no domain event happened again. Writer: `@Idempotent()`. */
  replayed?: boolean;
  /** The `@Audited()` domain event of a handler that succeeded, with its resource id; recorded with the access record. Writer: the audit hooks, or a public handler naming its tenant's event. */
  event?: { name: string; resourceId: string | null; tenant?: string };
  /** The domain event was written in the handler's own transaction (audit outbox): the response hooks write none. Writer: the audit outbox. */
  eventInTransaction?: boolean;
  /**
   * The `Idempotency-Key` this request holds a lease on (`token` fences it: only the holder may
   * complete or release the key), the status a success answers, and `completed` once its result
   * was stored in the handler's transaction. Writer: `@Idempotent()`.
   */
  idempotencyLease?: {
    tenant: string;
    subject: string;
    key: string;
    token: string;
    status: number;
    completed?: boolean;
  };
}

/**
 * The one writer of `decision` and `reason`: records who decided what about the request.
 * `details` replace earlier ones only when given and non-empty (a later refusal, e.g. a spent
 * budget after a bad token, keeps the first one's facts otherwise).
 */
export function recordDecision(
  state: RequestState,
  decision: 'allow' | 'deny',
  reason: string,
  details?: Record<string, unknown>,
): void {
  state.decision = decision;
  state.reason = reason;
  if (details && Object.keys(details).length) state.details = details;
}

/** Adds facts to the audit details of the request's decision, keeping those already there. */
export function addAuditDetails(state: RequestState, details: Record<string, unknown>): void {
  state.details = { ...state.details, ...details };
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
