import { describe, expect, it } from 'vitest';
import type { PlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { RedisService, SharedCounters } from '@platform/redis';
import { parseRateLimitPolicy } from './rate-limit-policy';
import { localShareOf, RateLimiter } from './rate-limiter';

describe('localShareOf (budget per instance while counting alone)', () => {
  it('splits the budget between RATE_LIMIT_INSTANCES, rounded down, never below one request', () => {
    expect(localShareOf(90, 1)).toBe(90);
    expect(localShareOf(90, 2)).toBe(45);
    expect(localShareOf(10, 3)).toBe(3);
    expect(localShareOf(3, 4)).toBe(1);
  });
});

describe('RateLimiter counting in memory with RATE_LIMIT_INSTANCES=2', () => {
  const limiter = (instances: number) => {
    const config = { redis: undefined, rateLimitsFile: '', rateLimitInstances: instances } as unknown as PlatformConfig;
    const limits = new RateLimiter(config, new SharedCounters(config, new RedisService(config), new PlatformMetrics()));
    limits.use(
      parseRateLimitPolicy('windowSeconds: 60\ndefaults: { user: 6, service: 6, agent: 6, anonymous: unlimited }\n', [
        'billing',
      ]),
    );
    return limits;
  };

  it('admits half the budget, and says so in its decision (limit 3, not shared)', async () => {
    const limits = limiter(2);
    const t0 = 60_000 * 3000 + 1000;
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await limits.consume('billing', 'user', 'dan', t0));
    expect(seen.map((d) => d?.allowed)).toEqual([true, true, true, false]);
    expect(seen[0]).toMatchObject({ limit: 3, remaining: 2, shared: false });
  });

  it('with one instance (the default) the whole budget applies', async () => {
    const limits = limiter(1);
    const t0 = 60_000 * 3000 + 1000;
    const allowed = [];
    for (let i = 0; i < 7; i++) allowed.push((await limits.consume('billing', 'user', 'dan', t0))?.allowed);
    expect(allowed).toEqual([true, true, true, true, true, true, false]);
  });
});
