import { trace } from '@opentelemetry/api';
import { ProblemException, recordDecision, type RequestState } from '@platform/http';
import type { Refusal } from './refusal';

const GUARD_TRACER = trace.getTracer('@platform/auth');

/**
 * Records the guard's decision in the request state (read by the audit hook, since guard
 * exceptions never reach interceptors) and as a span of the request's trace when OpenTelemetry
 * tracing is on (a no-op otherwise).
 */
export function recordGuardDecision(
  state: RequestState,
  decision: 'allow' | 'deny',
  reason: string,
  details?: Record<string, unknown>,
): void {
  GUARD_TRACER.startSpan('authz.decision', {
    attributes: { 'platform.decision': decision, 'platform.reason': reason },
  }).end();
  recordDecision(state, decision, reason, details);
}

/**
 * The one place a refusal becomes an answer: records the deny (reason and audit details) and
 * returns the problem+json exception to throw, with the refusal's headers and extensions.
 */
export function refuse(state: RequestState, refusal: Refusal): ProblemException {
  recordGuardDecision(state, 'deny', refusal.reason, refusal.audit);
  return new ProblemException(
    refusal.status,
    refusal.reason,
    refusal.detail,
    refusal.headers ?? {},
    refusal.extensions ?? {},
  );
}
