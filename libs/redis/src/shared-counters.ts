import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { RedisService } from './redis.service';

/** Counts of one key in the current fixed window and the one before (for a sliding estimate). */
export interface WindowCounts {
  current: number;
  previous: number;
  /** False when the count is this instance's own (no `REDIS_URL`, or Redis unreachable just now). */
  shared: boolean;
}

/** Most keys held in memory by each in-memory map; the oldest are forgotten first. */
export const MEMORY_KEYS_LIMIT = 100_000;

/**
 * How stale this instance's view of a shared counter may get before a request syncs it, in
 * milliseconds; and the share of a budget (1/100) an instance may count locally in between.
 */
export const SYNC_INTERVAL_MS = 250;
const LOCAL_SHARE = 100;

/**
 * One round trip: add to this window's counter (expiring after two windows), read the previous
 * window's. KEYS: current, previous; ARGV: amount, window length in milliseconds.
 */
const HIT_SCRIPT = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
if current == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2) end
local previous = redis.call('GET', KEYS[2])
return {current, tonumber(previous) or 0}
`;

interface MemoryWindow {
  window: number;
  current: number;
  previous: number;
}

/** This instance's view of a shared counter: what Redis said at the last sync, plus what was counted here since. */
interface SharedWindow {
  window: number;
  /** The current window's count in Redis at the last sync (ours included). */
  synced: number;
  previous: number;
  /** Counted here, not yet added in Redis. */
  pending: number;
  /** When Redis last answered for this key (epoch ms). */
  syncedAt: number;
  /** Syncs of this key waiting for Redis. */
  inFlight: number;
}

type HitCommand = (current: string, previous: string, amount: number, windowMs: number) => Promise<[number, number]>;

/**
 * Counters shared by every platform instance: in Redis when `REDIS_URL` is set, else in this
 * process's memory. Used for rate-limit windows and for "seen once" keys (DPoP proof `jti`s).
 *
 * Rate-limit counts are batched so that a request rarely waits for Redis: an instance counts a
 * key locally while its view is younger than {@link SYNC_INTERVAL_MS} and what it counted since
 * is at most 1% of the budget, then adds that to Redis in one command and reads the total back.
 * Budgets under 100 requests are synced on every request (exact). Overall, instances can exceed a
 * budget by at most about 1% each, plus what they all admit within one sync interval.
 *
 * Redis unreachable (not connected, a command failing or slower than `REDIS_COMMAND_TIMEOUT_MS`):
 * the operation is answered from this instance's memory at once, counted in
 * `platform_shared_state_fallbacks_total`, and the outage is logged once. Nothing throws, so no
 * request fails because of Redis; the cost is that limits and replay checks are per instance
 * until Redis is back (docs/machines-and-agents.md). A rate-limit key counted locally starts from
 * this instance's share (÷ `RATE_LIMIT_INSTANCES`) of its last shared count, and the rate limiter
 * compares local counts with the same share of the budget.
 */
@Injectable()
export class SharedCounters implements OnModuleInit, OnApplicationShutdown {
  private readonly windows = new Map<string, MemoryWindow>();
  private readonly views = new Map<string, SharedWindow>();
  private readonly seen = new Map<string, number>();
  private readonly prefix: string;
  /** RATE_LIMIT_INSTANCES: how many instances a budget is split between while counts are local. */
  private readonly instances: number;
  private readonly hitCommand?: HitCommand;
  private flusher?: NodeJS.Timeout;

  constructor(
    config: PlatformConfig,
    private readonly redis: RedisService,
    private readonly metrics: PlatformMetrics,
  ) {
    this.prefix = config.redis?.keyPrefix ?? '';
    this.instances = config.rateLimitInstances ?? 1;
    const client = redis.client;
    if (client) {
      client.defineCommand('platformWindowHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
      this.hitCommand = (client as unknown as { platformWindowHit: HitCommand }).platformWindowHit.bind(client);
    }
    metrics.trackRedis(() => (redis.client ? (redis.available ? 1 : 0) : undefined));
  }

  /**
   * Adds one to `key`'s counter of the fixed window holding `nowMs` and returns it with the
   * previous window's count.
   *
   * @param windowMs window length in milliseconds
   * @param nowMs current time in epoch milliseconds (instances are assumed NTP-synchronised)
   * @param limit the budget the count is compared with: how much may be counted locally between syncs
   */
  async hit(key: string, windowMs: number, nowMs: number, limit: number): Promise<WindowCounts> {
    const window = Math.floor(nowMs / windowMs);
    if (this.hitCommand && this.redis.available) {
      const counts = await this.sharedHit(this.hitCommand, key, window, windowMs, nowMs, limit);
      if (counts) return counts;
    } else if (this.hitCommand) {
      this.fallback('rate_limit');
    }
    const id = `${key}\u0000${windowMs}`;
    return { ...this.memoryHit(id, window, this.views.get(id)), shared: false };
  }

  /**
   * {@link hit} when it can be answered without waiting for Redis: in memory (no Redis, or Redis
   * unreachable), or within this instance's local share of a shared count (see the class). Returns
   * undefined, having counted nothing, when Redis must be asked: the caller then calls {@link hit}.
   * Same counts and same keys as {@link hit}.
   */
  hitNow(key: string, windowMs: number, nowMs: number, limit: number): WindowCounts | undefined {
    const window = Math.floor(nowMs / windowMs);
    if (this.hitCommand && this.redis.available) {
      const id = `${key}\u0000${windowMs}`;
      const view = this.viewOf(this.hitCommand, key, id, window, windowMs);
      if (!this.countsLocally(view, nowMs, limit)) return undefined;
      view.pending += 1;
      return { current: view.synced + view.pending, previous: view.previous, shared: true };
    }
    if (this.hitCommand) this.fallback('rate_limit');
    const id = `${key}\u0000${windowMs}`;
    const { current, previous } = this.memoryHit(id, window, this.views.get(id));
    return { current, previous, shared: false };
  }

  /**
   * True the first time `key` is presented within `ttlMs` milliseconds, false for a repeat (SET NX
   * in Redis, always one round trip: a replay must be caught on whichever instance it reaches).
   * `shared` is false when only this instance's memory was asked.
   */
  async firstUse(key: string, ttlMs: number, nowMs: number): Promise<{ first: boolean; shared: boolean }> {
    const local = this.memoryFirstUse(key, ttlMs, nowMs);
    // Whenever connected, breaker or not: a replay must be caught on whichever instance it reaches.
    if (this.redis.client && this.redis.connected) {
      try {
        const set = await this.redis.client.set(`${this.prefix}once:${key}`, '1', 'PX', ttlMs, 'NX');
        this.redis.commandSucceeded();
        return { first: set === 'OK' && local, shared: true };
      } catch (err) {
        this.fallback('once', err as Error);
      }
    } else if (this.redis.client) {
      this.fallback('once');
    }
    return { first: local, shared: false };
  }

  /** The batched shared count, or undefined when Redis failed (the caller falls back to memory). */
  private async sharedHit(
    command: HitCommand,
    key: string,
    window: number,
    windowMs: number,
    nowMs: number,
    limit: number,
  ): Promise<WindowCounts | undefined> {
    // A hash tag keeps both windows of a key in one Redis Cluster slot.
    const base = `${this.prefix}rl:{${key}}:${windowMs}:`;
    const view = this.viewOf(command, key, `${key}\u0000${windowMs}`, window, windowMs);
    if (this.countsLocally(view, nowMs, limit)) {
      view.pending += 1;
      return { current: view.synced + view.pending, previous: view.previous, shared: true };
    }
    view.pending += 1;
    const amount = view.pending;
    view.pending = 0;
    view.inFlight += 1;
    try {
      const [current, previous] = await command(`${base}${window}`, `${base}${window - 1}`, amount, windowMs);
      this.redis.commandSucceeded();
      if (view.window === window) {
        view.synced = Math.max(view.synced, Number(current));
        view.previous = Number(previous);
        view.syncedAt = nowMs;
      }
      return {
        current: Number(current) + (view.window === window ? view.pending : 0),
        previous: Number(previous),
        shared: true,
      };
    } catch (err) {
      this.fallback('rate_limit', err as Error);
      return undefined;
    } finally {
      view.inFlight -= 1;
    }
  }

  /**
   * True when one more may be counted here without a sync: within 1% of `limit` since the last
   * sync, and that sync recent (or one under way).
   */
  private countsLocally(view: SharedWindow, nowMs: number, limit: number): boolean {
    const withinShare = view.pending + 1 <= Math.floor(limit / LOCAL_SHARE);
    return withinShare && (view.inFlight > 0 || nowMs - view.syncedAt < SYNC_INTERVAL_MS);
  }

  /** This instance's view of `key` in `window` (rolled over, its last window's local counts sent), most recently used. */
  private viewOf(command: HitCommand, key: string, id: string, window: number, windowMs: number): SharedWindow {
    let view = this.views.get(id);
    if (view === undefined || view.window !== window) {
      if (view !== undefined && view.pending > 0) {
        const base = `${this.prefix}rl:{${key}}:${windowMs}:`;
        // What was counted here in the window that just ended still belongs to it.
        command(`${base}${view.window}`, `${base}${view.window - 1}`, view.pending, windowMs).catch((err: Error) =>
          this.fallback('rate_limit_flush', err),
        );
      }
      const previous = view?.window === window - 1 ? view.synced + view.pending : 0;
      view = { window, synced: 0, previous, pending: 0, syncedAt: Number.NEGATIVE_INFINITY, inFlight: 0 };
    }
    // Least recently used last: the bound below forgets keys nobody sends any more.
    this.views.delete(id);
    this.views.set(id, view);
    if (this.views.size > MEMORY_KEYS_LIMIT) {
      const [oldestId, oldest] = this.views.entries().next().value as [string, SharedWindow];
      this.views.delete(oldestId);
      this.flushView(command, oldestId, oldest, Number(oldestId.slice(oldestId.lastIndexOf('\u0000') + 1)));
    }
    return view;
  }

  /** Adds what was counted locally for a view to Redis, without waiting (a key gone quiet, or forgotten). */
  private flushView(command: HitCommand, id: string, view: SharedWindow, windowMs: number): void {
    if (view.pending <= 0) return;
    const base = `${this.prefix}rl:{${id.slice(0, id.lastIndexOf('\u0000'))}}:${windowMs}:`;
    const amount = view.pending;
    view.pending = 0;
    command(`${base}${view.window}`, `${base}${view.window - 1}`, amount, windowMs).catch((err: Error) =>
      this.fallback('rate_limit_flush', err),
    );
  }

  /**
   * Every second, counts left local by keys that went quiet reach Redis, so other instances see
   * them. Started by the module; stopped at shutdown.
   */
  onModuleInit(): void {
    const command = this.hitCommand;
    if (!command) return;
    this.flusher = setInterval(() => {
      if (!this.redis.available) return;
      const now = Date.now();
      for (const [id, view] of this.views) {
        if (view.pending > 0 && view.inFlight === 0 && now - view.syncedAt >= SYNC_INTERVAL_MS)
          this.flushView(command, id, view, Number(id.slice(id.lastIndexOf('\u0000') + 1)));
      }
    }, 1000);
    this.flusher.unref();
  }

  onApplicationShutdown(): void {
    if (this.flusher) clearInterval(this.flusher);
  }

  private fallback(operation: string, err?: Error): void {
    if (err) this.redis.commandFailed(err);
    this.metrics.sharedStateFallbacks.labels(operation).inc();
  }

  /**
   * Counts one in this instance's memory. Keys are ordered by the window they last counted in (the
   * oldest first), so that at {@link MEMORY_KEYS_LIMIT} the key forgotten is one idle longest. A key this instance last saw shared (Redis just became
   * unreachable) starts from its share of the last shared counts, so that what every instance
   * spent before the outage is not spent again (see {@link seedOf}).
   */
  private memoryHit(key: string, window: number, view?: SharedWindow): { current: number; previous: number } {
    let entry = this.windows.get(key);
    if (entry === undefined) {
      if (this.windows.size >= MEMORY_KEYS_LIMIT) this.windows.delete(this.windows.keys().next().value as string);
      entry = { window, ...this.seedOf(window, view) };
      this.windows.set(key, entry);
    } else if (entry.window !== window) {
      const seed = this.seedOf(window, view);
      entry.previous = Math.max(seed.previous, entry.window === window - 1 ? entry.current : 0);
      entry.current = seed.current;
      entry.window = window;
      // Moved to the back once per window (not per hit): the bound above then forgets the keys
      // idle longest, whose windows are over, not a key counting now (that would reset its budget).
      this.windows.delete(key);
      this.windows.set(key, entry);
    } else if (view !== undefined) {
      // A second outage in one window: what was shared in between counts too.
      const seed = this.seedOf(window, view);
      entry.current = Math.max(entry.current, seed.current);
      entry.previous = Math.max(entry.previous, seed.previous);
    }
    entry.current += 1;
    return { current: entry.current, previous: entry.previous };
  }

  /**
   * This instance's share (÷ `RATE_LIMIT_INSTANCES`, rounded up) of the counts it last saw in Redis
   * for `window` and the one before; zero without a shared view of those windows.
   */
  private seedOf(window: number, view: SharedWindow | undefined): { current: number; previous: number } {
    const share = (count: number) => Math.ceil(count / this.instances);
    if (view?.window === window) return { current: share(view.synced + view.pending), previous: share(view.previous) };
    if (view?.window === window - 1) return { current: 0, previous: share(view.synced + view.pending) };
    return { current: 0, previous: 0 };
  }

  /**
   * Every key lives the same `ttlMs` per caller, so insertion order is expiry order: expired keys
   * are dropped from the front, and at the bound the oldest (closest to expiry) goes first.
   */
  private memoryFirstUse(key: string, ttlMs: number, nowMs: number): boolean {
    for (const [k, expiry] of this.seen) {
      if (expiry > nowMs) break;
      this.seen.delete(k);
    }
    const until = this.seen.get(key);
    if (until !== undefined && until > nowMs) return false;
    if (this.seen.size >= MEMORY_KEYS_LIMIT) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, nowMs + ttlMs);
    return true;
  }
}
