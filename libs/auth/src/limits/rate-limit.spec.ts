import { describe, expect, it } from 'vitest';
import type { PlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { RedisService, SharedCounters } from '@platform/redis';
import { budgetFor, parseRateLimitPolicy, RateLimitPolicyError } from './rate-limit-policy';
import { budgetId, rateLimitHeaders, RateLimiter, retryAfterMs } from './rate-limiter';

const APPS = ['billing', 'analytics', 'platform'];
const problems = (text: string) => {
  try {
    parseRateLimitPolicy(text, APPS);
  } catch (err) {
    return (err as RateLimitPolicyError).problems;
  }
  return [];
};

describe('parseRateLimitPolicy', () => {
  it('reads defaults and per-app overrides; an override falls back to the default', () => {
    const policy = parseRateLimitPolicy(
      'windowSeconds: 10\ndefaults: { user: 5, service: 6, agent: 7, anonymous: unlimited }\napps:\n  billing: { agent: 1 }\n',
      APPS,
    );
    expect(policy.windowSeconds).toBe(10);
    expect(budgetFor(policy, 'billing', 'agent')).toBe(1);
    expect(budgetFor(policy, 'billing', 'user')).toBe(5);
    expect(budgetFor(policy, 'analytics', 'anonymous')).toBe('unlimited');
  });

  it('names every problem: unknown apps and kinds, missing defaults, bad numbers, unknown keys', () => {
    expect(problems('defaults: { user: 0, service: -1, agent: 1.5 }\napps:\n  nope: { robot: 1 }\nextra: 1\n')).toEqual(
      [
        'unknown key "extra" (expected windowSeconds, defaults, apps)',
        'defaults.user must be a positive integer or "unlimited"',
        'defaults.service must be a positive integer or "unlimited"',
        'defaults.agent must be a positive integer or "unlimited"',
        'defaults.anonymous is required',
        'apps.nope: unknown app (known: billing, analytics, platform)',
        'apps.nope.robot: unknown principal kind (expected user, service, agent, anonymous)',
      ],
    );
    expect(problems('windowSeconds: 0\ndefaults: { user: 1, service: 1, agent: 1, anonymous: 1 }')).toEqual([
      'windowSeconds must be an integer from 1 to 86400',
    ]);
    expect(problems('[1, 2')[0]).toMatch(/^not valid YAML/);
  });
});

describe('retryAfterMs (sliding window from two fixed windows)', () => {
  it('waits for the previous window to decay when this window alone is within the limit', () => {
    // limit 10, 2 in this window, 20 in the previous one, 30 s into a 60 s window:
    // one more fits once 20 * (60 - t) / 60 <= 7, that is t >= 39 s: 9 s from now.
    expect(retryAfterMs(10, 2, 20, 30_000, 60_000)).toBe(9_000);
    expect(retryAfterMs(10, 2, 0, 30_000, 60_000)).toBe(0);
  });

  it('waits into the next window when this window alone is over the limit', () => {
    // 20 here, limit 10, 50 s in: 10 s to the next window, then 20 * (1 - t/60) <= 9: t = 33 s.
    expect(retryAfterMs(10, 20, 0, 50_000, 60_000)).toBe(43_000);
  });
});

describe('RateLimiter with in-memory counters', () => {
  const config = { redis: undefined, rateLimitsFile: '' } as unknown as PlatformConfig;
  const limiter = () => {
    const metrics = new PlatformMetrics();
    const limits = new RateLimiter(config, new SharedCounters(config, new RedisService(config), metrics));
    limits.use(
      parseRateLimitPolicy(
        'windowSeconds: 60\ndefaults: { user: 3, service: 3, agent: 3, anonymous: unlimited }\n',
        APPS,
      ),
    );
    return limits;
  };

  it('allows the budget, then refuses with the time until one more fits; counts by principal and app', async () => {
    const limits = limiter();
    const t0 = 60_000 * 1000 + 15_000;
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await limits.consume('billing', 'user', 'alice', t0));
    expect(seen.map((d) => [d?.allowed, d?.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    // 4 counted (the refused one too), 15 s in: 45 s to the next window, then 1 + 4 * (1 - t/60) <= 3 at t = 30 s.
    expect(seen[3]).toMatchObject({ retryAfterSeconds: 75, shared: false, policyName: 'billing.user' });
    expect(rateLimitHeaders(seen[3]!)).toEqual({
      'ratelimit-policy': '"billing.user";q=3;w=60',
      ratelimit: '"billing.user";r=0;t=75',
    });
    expect((await limits.consume('billing', 'user', 'bob', t0))?.allowed).toBe(true);
    expect((await limits.consume('analytics', 'user', 'alice', t0))?.allowed).toBe(true);
    expect(await limits.consume('billing', 'anonymous', 'ip:1', t0)).toBeUndefined();
  });

  it('slides: the previous window still weighs, then decays', async () => {
    const limits = limiter();
    const start = 60_000 * 2000;
    for (let i = 0; i < 3; i++) await limits.consume('billing', 'user', 'carol', start + 59_000);
    // 6 s into the next window, 90% of the 3 still counts: 2.7 + 1 > 3.
    expect((await limits.consume('billing', 'user', 'carol', start + 66_000))?.allowed).toBe(false);
    // 45 s in, a quarter of them weighs: 0.75 + 2 (the refused one counted too) + 1 <= 3.
    expect((await limits.consume('billing', 'user', 'carol', start + 105_000))?.allowed).toBe(true);
  });

  it('a hashed identity counts in the same budget as the identity, synchronously or not', async () => {
    const limits = limiter();
    const t0 = 60_000 * 3000;
    // The counter key every instance shares (Redis): old and new code must count the same key.
    expect(budgetId('user:https://issuer.example:dan')).toBe('hmihpqUhAuJZFsB0trglNC');
    await limits.consume('billing', 'user', 'user:https://issuer.example:dan', t0);
    const id = budgetId('user:https://issuer.example:dan');
    expect(limits.consumeNow('billing', 'user', id, t0)).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limits.consume('billing', 'user', 'ignored: the id wins', t0, id)).toMatchObject({ remaining: 0 });
    expect(limits.consumeNow('billing', 'anonymous', id, t0)).toBeUndefined();
  });
});
