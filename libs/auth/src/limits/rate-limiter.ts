import { hash } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';
import { AppRegistry } from '@platform/feature-apps';
import { SharedCounters, type WindowCounts } from '@platform/redis';
import { budgetFor, parseRateLimitPolicy, type BudgetKind, type RateLimitPolicy } from './rate-limit-policy';

/** The outcome of spending one request from a budget. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Requests per window. */
  limit: number;
  /** Requests left in the (sliding) window, never negative. */
  remaining: number;
  windowSeconds: number;
  /** Seconds until the current fixed window ends (the draft's `t` on an allowed request). */
  resetSeconds: number;
  /** Refused only: seconds after which one request fits the budget again (`Retry-After`). */
  retryAfterSeconds: number;
  /** The quota policy's name in the RateLimit headers: `<app>.<kind>`. */
  policyName: string;
  kind: BudgetKind;
  /** False when counted in this instance's memory only (no Redis, or Redis unreachable). */
  shared: boolean;
}

/**
 * Per-principal rate limits with budgets per app and principal kind (RATE_LIMITS_FILE, read and
 * validated at start-up, and again whenever it changes: an invalid change is refused and logged,
 * the budgets in force stay). Counts in a sliding window approximated from two fixed windows (the
 * current count plus the previous one weighted by how much of it still overlaps), in
 * {@link SharedCounters}: Redis when configured, else memory. Every request counts, refused ones
 * included, so a client that keeps hammering stays limited.
 */
@Injectable()
export class RateLimiter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiter.name);
  private policy!: RateLimitPolicy;
  private readonly listeners = new Set<(applied: boolean) => void>();
  private settle?: NodeJS.Timeout;

  constructor(
    private readonly config: PlatformConfig,
    private readonly counters: SharedCounters,
    @Optional() private readonly registry?: AppRegistry,
  ) {}

  /** @throws RateLimitPolicyError for an invalid file, naming every problem (the start fails) */
  onModuleInit(): void {
    this.policy = this.readFile();
    this.logger.log(
      {
        file: this.config.rateLimitsFile,
        windowSeconds: this.policy.windowSeconds,
        shared: this.config.redis !== undefined,
      },
      'Rate limits loaded',
    );
    // Polled, and read once the file has been still for one more poll (editors and mounts replace files).
    watchFile(this.config.rateLimitsFile, { interval: 500, persistent: false }, this.onFileChange);
  }

  onApplicationShutdown(): void {
    unwatchFile(this.config.rateLimitsFile, this.onFileChange);
    if (this.settle) clearTimeout(this.settle);
  }

  /** Calls `listener` after every reload attempt (true: applied). Returns the unsubscribe function. */
  onReload(listener: (applied: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readonly onFileChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size) return;
    if (this.settle) clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = undefined;
      let applied = true;
      try {
        this.policy = this.readFile();
        this.logger.log({ file: this.config.rateLimitsFile }, 'Rate limits reloaded');
      } catch (err) {
        applied = false;
        this.logger.error(
          {
            file: this.config.rateLimitsFile,
            problems: (err as { problems?: string[] }).problems ?? [(err as Error).message],
          },
          'Rate-limit change refused; the budgets in force stay',
        );
      }
      for (const listener of this.listeners) listener(applied);
    }, 600).unref();
  };

  private readFile(): RateLimitPolicy {
    return parseRateLimitPolicy(
      readFileSync(this.config.rateLimitsFile, 'utf8'),
      this.registry?.knownNames() ?? ['platform'],
    );
  }

  /** Replaces the budgets (tests). */
  use(policy: RateLimitPolicy): void {
    this.policy = policy;
  }

  /**
   * Spends one request of `principal`'s budget of `kind` in `app`.
   *
   * @param principal a stable identity string (hashed before it becomes a key)
   * @param nowMs current time in epoch milliseconds
   * @param id `principal` already hashed ({@link budgetId}), when the caller remembers it
   * @returns the decision, or undefined when that budget is `unlimited`; counted in this
   *   instance's memory only (`shared: false`), its `limit` is this instance's share of the budget ({@link localShareOf})
   */
  async consume(
    app: string,
    kind: BudgetKind,
    principal: string,
    nowMs = Date.now(),
    id = budgetId(principal),
  ): Promise<RateLimitDecision | undefined> {
    const budget = budgetFor(this.policy, app, kind);
    if (budget === 'unlimited') return undefined;
    const windowMs = this.policy.windowSeconds * 1000;
    const counts = await this.counters.hit(`${app}:${kind}:${id}`, windowMs, nowMs, budget);
    return this.decide(app, kind, budget, counts, nowMs);
  }

  /**
   * {@link consume} without waiting, for an identity already hashed ({@link budgetId}): the
   * decision (undefined: `unlimited`), or {@link LATER} when the count needs a round trip to Redis
   * (nothing was spent: call {@link consume}).
   */
  consumeNow(
    app: string,
    kind: BudgetKind,
    id: string,
    nowMs = Date.now(),
  ): RateLimitDecision | undefined | typeof LATER {
    const budget = budgetFor(this.policy, app, kind);
    if (budget === 'unlimited') return undefined;
    const windowMs = this.policy.windowSeconds * 1000;
    const counts = this.counters.hitNow(`${app}:${kind}:${id}`, windowMs, nowMs, budget);
    return counts === undefined ? LATER : this.decide(app, kind, budget, counts, nowMs);
  }

  private decide(
    app: string,
    kind: BudgetKind,
    budget: number,
    counts: WindowCounts,
    nowMs: number,
  ): RateLimitDecision {
    const { current, previous, shared } = counts;
    const windowMs = this.policy.windowSeconds * 1000;
    // Counted alone (no Redis, or Redis unreachable): this instance's share of the budget, so that
    // RATE_LIMIT_INSTANCES instances together admit about the budget, never that many times it.
    const limit = shared ? budget : localShareOf(budget, this.config.rateLimitInstances ?? 1);
    const elapsed = nowMs % windowMs;
    const estimate = current + (previous * (windowMs - elapsed)) / windowMs;
    const allowed = estimate <= limit;
    return {
      allowed,
      limit,
      remaining: Math.max(0, Math.floor(limit - estimate)),
      windowSeconds: this.policy.windowSeconds,
      resetSeconds: Math.max(1, Math.ceil((windowMs - elapsed) / 1000)),
      retryAfterSeconds: allowed
        ? 0
        : Math.max(1, Math.ceil(retryAfterMs(limit, current, previous, elapsed, windowMs) / 1000)),
      policyName: `${app}.${kind}`,
      kind,
      shared,
    };
  }
}

/** {@link RateLimiter.consumeNow}: the count needs Redis; nothing was spent. */
export const LATER = Symbol('rate-limit.later');

/**
 * The counter identity of a budget key: SHA-256 of `identity`, base64url, first 22 characters (132
 * bits). Part of the Redis key shared by every instance: changing it would split counts during a
 * rolling deploy.
 */
export function budgetId(identity: string): string {
  return hash('sha256', identity, 'base64url').slice(0, 22);
}

/**
 * What one of `instances` instances may admit of `budget` while it counts alone: the budget ÷
 * instances, rounded down, at least 1 (so the instances together admit at most
 * max(budget, instances) per window).
 */
export function localShareOf(budget: number, instances: number): number {
  return Math.max(1, Math.floor(budget / instances));
}

/**
 * Time until one more request fits, if none is sent meanwhile: while this window's own count is
 * within the limit, until the previous window's weight has decayed enough; otherwise until this
 * window's count, become the previous one, has decayed enough in the next window.
 */
export function retryAfterMs(
  limit: number,
  current: number,
  previous: number,
  elapsed: number,
  windowMs: number,
): number {
  if (current < limit) {
    if (previous <= 0) return 0;
    const t = windowMs - (windowMs * (limit - 1 - current)) / previous;
    return Math.max(0, Math.min(windowMs, t) - elapsed);
  }
  return windowMs - elapsed + Math.max(0, windowMs * (1 - (limit - 1) / current));
}

/** The draft RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-10) for a decision. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const name = `"${decision.policyName}"`;
  return {
    'ratelimit-policy': `${name};q=${decision.limit};w=${decision.windowSeconds}`,
    ratelimit: `${name};r=${decision.remaining};t=${decision.allowed ? decision.resetSeconds : decision.retryAfterSeconds}`,
  };
}
