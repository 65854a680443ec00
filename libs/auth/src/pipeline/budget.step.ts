import type { FastifyReply } from 'fastify';
import type { PlatformMetrics } from '@platform/observability';
import type { BudgetKind } from '../limits/rate-limit-policy';
import { rateLimitHeaders, type RateLimitDecision, type RateLimiter } from '../limits/rate-limiter';
import { passed, refused, type StepResult } from './step-result';

/** One budget to spend: the app called, the kind of caller and the identity (or address) counted. */
export interface BudgetCharge {
  app: string;
  kind: BudgetKind;
  key: string;
  /** `key` already hashed (the limiter's `budgetId`), when the caller remembers it: saves hashing it again. */
  id?: string;
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
  const decision = await context.limits.consume(charge.app, charge.kind, charge.key, undefined, charge.id);
  return budgetOutcome(reply, charge, decision, context, refusedFirstAs);
}

/** A passed budget step (shared: it carries nothing). */
const SPENT: StepResult<void> = passed(undefined);

/**
 * The budget step's answer to a spend already counted ({@link spendBudget}, or the guard's
 * synchronous path): sets the RateLimit headers, or refuses with 429 as {@link spendBudget} says.
 *
 * @param decision the limiter's decision; undefined for an `unlimited` budget
 */
export function budgetOutcome(
  reply: FastifyReply,
  charge: BudgetCharge,
  decision: RateLimitDecision | undefined,
  context: Pick<BudgetContext, 'metrics'>,
  refusedFirstAs?: string,
): StepResult<void> {
  if (decision === undefined) return SPENT;
  const headers = rateLimitHeaders(decision);
  if (decision.allowed) {
    reply.headers(headers);
    return SPENT;
  }
  const { app, kind } = charge;
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
