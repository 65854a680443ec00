import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { RedisService } from './redis.service';
import { MEMORY_KEYS_LIMIT, SharedCounters, SYNC_INTERVAL_MS } from './shared-counters';

const MINUTE = 60_000;

describe('SharedCounters in memory (no REDIS_URL)', () => {
  const config = {} as PlatformConfig;
  const counters = () => new SharedCounters(config, new RedisService(config), new PlatformMetrics());

  it('counts per fixed window and carries the previous window', async () => {
    const c = counters();
    const t = 1000 * MINUTE;
    await c.hit('k', MINUTE, t, 10);
    expect(await c.hit('k', MINUTE, t + 1, 10)).toEqual({ current: 2, previous: 0, shared: false });
    expect(await c.hit('k', MINUTE, t + MINUTE, 10)).toEqual({ current: 1, previous: 2, shared: false });
    expect(await c.hit('k', MINUTE, t + 3 * MINUTE, 10)).toEqual({ current: 1, previous: 0, shared: false });
  });

  it('hitNow counts in the same counters as hit, without waiting', async () => {
    const c = counters();
    const t = 1000 * MINUTE;
    await c.hit('k', MINUTE, t, 10);
    expect(c.hitNow('k', MINUTE, t + 1, 10)).toEqual({ current: 2, previous: 0, shared: false });
    expect(await c.hit('k', MINUTE, t + 2, 10)).toEqual({ current: 3, previous: 0, shared: false });
  });

  it('at the key bound, forgets keys idle since an earlier window, never the count of a key counting now', () => {
    const c = counters();
    const t = 1000 * MINUTE;
    // Counted first, then again in the next window: it must survive the keys that stay idle.
    c.hitNow('active', MINUTE, t, 1000);
    for (let i = 1; i < MEMORY_KEYS_LIMIT; i++) c.hitNow(`idle-${i}`, MINUTE, t, 1000);
    c.hitNow('active', MINUTE, t + MINUTE, 1000);
    c.hitNow('active', MINUTE, t + MINUTE, 1000);
    for (let i = 0; i < 1000; i++) c.hitNow(`new-${i}`, MINUTE, t + MINUTE, 1000);
    expect(c.hitNow('active', MINUTE, t + MINUTE, 1000)).toEqual({ current: 3, previous: 1, shared: false });
  });

  it('a key is new once within its time to live, and again after it', async () => {
    const c = counters();
    expect((await c.firstUse('jti-1', 1000, 0)).first).toBe(true);
    expect((await c.firstUse('jti-1', 1000, 999)).first).toBe(false);
    expect((await c.firstUse('jti-1', 1000, 1000)).first).toBe(true);
  });
});

describe.runIf(process.env.TEST_REDIS_URL)('SharedCounters in Redis: two instances', () => {
  let a: SharedCounters;
  let b: SharedCounters;
  const services: RedisService[] = [];

  beforeAll(async () => {
    const config = {
      redis: {
        url: process.env.TEST_REDIS_URL as string,
        keyPrefix: `spec-${randomBytes(6).toString('hex')}:`,
        commandTimeoutMs: 1000,
      },
    } as PlatformConfig;
    const instance = async () => {
      const redis = new RedisService(config);
      services.push(redis);
      await new Promise((resolve) => redis.client?.once('ready', resolve));
      return new SharedCounters(config, redis, new PlatformMetrics());
    };
    a = await instance();
    b = await instance();
  });
  afterAll(async () => {
    for (const redis of services) await redis.onApplicationShutdown();
  });

  it('small budgets are exact: every hit is added in Redis at once', async () => {
    const t = 2000 * MINUTE;
    for (let i = 0; i < 3; i++) await a.hit('small', MINUTE, t, 6);
    expect(await b.hit('small', MINUTE, t, 6)).toEqual({ current: 4, previous: 0, shared: true });
  });

  it('large budgets are counted locally between syncs, and every instance sees the total within one sync interval', async () => {
    const t = 3000 * MINUTE;
    // The first hit syncs; the next nine stay local (1% of the budget is 10,000).
    for (let i = 0; i < 10; i++) await a.hit('large', MINUTE, t, 1_000_000);
    expect((await b.hit('large', MINUTE, t + SYNC_INTERVAL_MS, 1_000_000)).current).toBe(2);
    // A's view is stale now: its next hit adds its ten to Redis and reads everything back.
    expect((await a.hit('large', MINUTE, t + SYNC_INTERVAL_MS, 1_000_000)).current).toBe(12);
    expect((await b.hit('large', MINUTE, t + 2 * SYNC_INTERVAL_MS + 1, 1_000_000)).current).toBe(13);
  });

  it('hitNow answers within the local share of a fresh view; otherwise it counts nothing and hit syncs', async () => {
    const t = 4000 * MINUTE;
    // No view yet: Redis must be asked first.
    expect(a.hitNow('now', MINUTE, t, 1_000_000)).toBeUndefined();
    expect((await a.hit('now', MINUTE, t, 1_000_000)).current).toBe(1);
    expect(a.hitNow('now', MINUTE, t + 1, 1_000_000)).toEqual({ current: 2, previous: 0, shared: true });
    // Stale view: nothing counted by hitNow; hit adds the one pending and its own.
    expect(a.hitNow('now', MINUTE, t + SYNC_INTERVAL_MS, 1_000_000)).toBeUndefined();
    expect((await a.hit('now', MINUTE, t + SYNC_INTERVAL_MS, 1_000_000)).current).toBe(3);
    // Small budgets are exact: always a round trip.
    expect(a.hitNow('now-small', MINUTE, t, 6)).toBeUndefined();
  });

  it('a proof id is new for exactly one instance', async () => {
    const key = `jti-${randomBytes(4).toString('hex')}`;
    expect(await a.firstUse(key, 60_000, Date.now())).toEqual({ first: true, shared: true });
    expect(await b.firstUse(key, 60_000, Date.now())).toEqual({ first: false, shared: true });
  });
});
