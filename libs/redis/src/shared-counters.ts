import { Injectable } from '@nestjs/common';
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
 * One round trip: add to this window's counter (expiring after two windows), read the previous
 * window's. KEYS: current, previous; ARGV: cost, window length in milliseconds.
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

type HitCommand = (current: string, previous: string, cost: number, windowMs: number) => Promise<[number, number]>;

/**
 * Counters shared by every platform instance: in Redis when `REDIS_URL` is set, else in this
 * process's memory. Used for rate-limit windows and for "seen once" keys (DPoP proof `jti`s).
 *
 * Redis unreachable (not connected, a command failing or slower than `REDIS_COMMAND_TIMEOUT_MS`):
 * the operation is answered from this instance's memory at once, counted in
 * `platform_shared_state_fallbacks_total`, and the outage is logged once. Nothing throws, so no
 * request fails because of Redis; the cost is that limits and replay checks are per instance
 * until Redis is back (documented in docs/machines-and-agents.md).
 */
@Injectable()
export class SharedCounters {
  private readonly windows = new Map<string, MemoryWindow>();
  private readonly seen = new Map<string, number>();
  private readonly prefix: string;
  private readonly hitCommand?: HitCommand;

  constructor(
    config: PlatformConfig,
    private readonly redis: RedisService,
    private readonly metrics: PlatformMetrics,
  ) {
    this.prefix = config.redis?.keyPrefix ?? '';
    const client = redis.client;
    if (client) {
      client.defineCommand('platformWindowHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
      const command = (client as unknown as { platformWindowHit: HitCommand }).platformWindowHit.bind(client);
      this.hitCommand = command;
    }
    metrics.trackRedis(() => (redis.client ? (redis.available ? 1 : 0) : undefined));
  }

  /**
   * Adds `cost` to `key`'s counter of the fixed window holding `nowMs` and returns it with the
   * previous window's count.
   *
   * @param windowMs window length in milliseconds
   * @param nowMs current time in epoch milliseconds (instances are assumed NTP-synchronised)
   */
  async hit(key: string, windowMs: number, nowMs: number, cost = 1): Promise<WindowCounts> {
    const window = Math.floor(nowMs / windowMs);
    if (this.hitCommand && this.redis.available) {
      // A hash tag keeps both windows of a key in one Redis Cluster slot.
      const base = `${this.prefix}rl:{${key}}:${windowMs}:`;
      try {
        const [current, previous] = await this.hitCommand(`${base}${window}`, `${base}${window - 1}`, cost, windowMs);
        return { current: Number(current), previous: Number(previous), shared: true };
      } catch (err) {
        this.fallback('rate_limit', err as Error);
      }
    } else if (this.hitCommand) {
      this.fallback('rate_limit');
    }
    return { ...this.memoryHit(`${key}\u0000${windowMs}`, window, cost), shared: false };
  }

  /**
   * True the first time `key` is presented within `ttlMs` milliseconds, false for a repeat (SET NX
   * in Redis). `shared` is false when only this instance's memory was asked.
   */
  async firstUse(key: string, ttlMs: number, nowMs: number): Promise<{ first: boolean; shared: boolean }> {
    if (this.redis.client && this.redis.available) {
      try {
        const set = await this.redis.client.set(`${this.prefix}once:${key}`, '1', 'PX', ttlMs, 'NX');
        // Remembered locally too, so that a replay during a later outage is still caught here.
        this.memoryFirstUse(key, ttlMs, nowMs);
        return { first: set === 'OK', shared: true };
      } catch (err) {
        this.fallback('once', err as Error);
      }
    } else if (this.redis.client) {
      this.fallback('once');
    }
    return { first: this.memoryFirstUse(key, ttlMs, nowMs), shared: false };
  }

  private fallback(operation: string, err?: Error): void {
    this.redis.markDown(err);
    this.metrics.sharedStateFallbacks.labels(operation).inc();
  }

  private memoryHit(key: string, window: number, cost: number): { current: number; previous: number } {
    let entry = this.windows.get(key);
    if (entry === undefined) {
      if (this.windows.size >= MEMORY_KEYS_LIMIT) this.windows.delete(this.windows.keys().next().value as string);
      entry = { window, current: 0, previous: 0 };
      this.windows.set(key, entry);
    } else if (entry.window !== window) {
      entry.previous = entry.window === window - 1 ? entry.current : 0;
      entry.current = 0;
      entry.window = window;
    }
    entry.current += cost;
    return { current: entry.current, previous: entry.previous };
  }

  private memoryFirstUse(key: string, ttlMs: number, nowMs: number): boolean {
    const until = this.seen.get(key);
    if (until !== undefined && until > nowMs) return false;
    if (this.seen.size >= MEMORY_KEYS_LIMIT) {
      // Forget expired keys first; if none, the oldest.
      for (const [k, expiry] of this.seen) if (expiry <= nowMs) this.seen.delete(k);
      if (this.seen.size >= MEMORY_KEYS_LIMIT) this.seen.delete(this.seen.keys().next().value as string);
    }
    this.seen.set(key, nowMs + ttlMs);
    return true;
  }
}
