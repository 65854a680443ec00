import type { FastifyReply } from 'fastify';
import type { PlatformMetrics } from '@platform/observability';
import type { BudgetKind } from '../limits/rate-limit-policy';
import { rateLimitHeaders, type RateLimiter } from '../limits/rate-limiter';
import { passed, refused, type StepResult } from './step-result';

/** One budget to spend: the app called, the kind of caller and the identity (or address) counted. */
export interface BudgetCharge {
  app: string;
  kind: BudgetKind;
  key: string;
}

/** What the budget step needs: the limiter and the metric counting refusals. */
export interface BudgetContext {
  limits: Pick<RateLimiter, 'consume'>;
  metrics: Pick<PlatformMetrics, 'rateLimited'>;
}

/**
 * Step budget: spends one request of `charge`'s budget and sets the RateLimit headers on the
 * answer. Over budget: 429 `rate_limited` with `Retry-After` (seconds) and the RateLimit headers;
 * `refusedFirstAs` (the reason of an earlier refusal of the same request) is kept in the audit.
 */
export async function spendBudget(
  reply: FastifyReply,
  charge: BudgetCharge,
  context: BudgetContext,
  refusedFirstAs?: string,
): Promise<StepResult<void>> {
  const { app, kind, key } = charge;
  const decision = await context.limits.consume(app, kind, key);
  if (decision === undefined) return passed(undefined);
  const headers = rateLimitHeaders(decision);
  if (decision.allowed) {
    reply.headers(headers);
    return passed(undefined);
  }
  context.metrics.rateLimited.labels(app, kind).inc();
  const { limit, windowSeconds, retryAfterSeconds } = decision;
  return refused({
    status: 429,
    reason: 'rate_limited',
    detail: `Too many requests: the ${kind} budget of ${limit} requests per ${windowSeconds} s in ${app} is spent. Retry after ${retryAfterSeconds} s.`,
    headers: { ...headers, 'retry-after': String(retryAfterSeconds) },
    audit: {
      budget: decision.policyName,
      limit,
      windowSeconds,
      retryAfterSeconds,
      shared: decision.shared,
      ...(refusedFirstAs !== undefined && { refusedFirstAs }),
    },
  });
}
