/**
 * Why the guard refuses a request, as data: every step returns one of these instead of throwing,
 * and {@link refuse} alone turns it into the problem+json answer and the audit decision.
 */
export interface Refusal {
  /** 401 (credential or token), 403 (policy), 429 (budget), 503 (issuer unreachable or misconfigured). */
  status: 401 | 403 | 429 | 503;
  /** Stable reason code: the problem's `reason` and the audit record's. */
  reason: string;
  /** Client-facing explanation (the problem's `detail`); never a token or a secret. */
  detail: string;
  /** Response headers: `WWW-Authenticate`, `Retry-After`, RateLimit headers. */
  headers?: Record<string, string>;
  /** Extra problem+json members, e.g. `missingPermissions`. */
  extensions?: Record<string, unknown>;
  /** Safe facts for the audit record's `details` (expected audience, missing permissions, ...). */
  audit?: Record<string, unknown>;
}
