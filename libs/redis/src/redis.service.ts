import { Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import Redis from 'ioredis';
import { PlatformConfig } from '@platform/config';
import { SecretsService, type SecretDefinition } from '@platform/secrets';

/**
 * The Redis password as a secret (optional: without it, the password of `REDIS_URL` is used). A
 * rotated value is used from the next connection on; the open connection stays authenticated.
 */
export const REDIS_PASSWORD: SecretDefinition = {
  name: 'redis-password',
  description: 'Password of the Redis server in REDIS_URL (AUTH)',
  // At least 8 characters: shorter values could not be redacted from log lines safely.
  validate: (value) => (value.length >= 8 ? undefined : 'must be at least 8 characters'),
  consumers: ['redis: every new connection (rate-limit counters, DPoP proof ids)'],
  optional: true,
};

/** After a failed command, how long Redis is not asked again (unless the connection is renewed first), in ms. */
export const REDIS_BREAKER_MS = 2000;

/**
 * The platform's one Redis connection (ioredis), when `REDIS_URL` is set: shared state between
 * instances (rate-limit counters, DPoP proof ids). Built to fail fast rather than queue:
 * - commands sent while disconnected fail at once (no offline queue);
 * - a command unanswered within `REDIS_COMMAND_TIMEOUT_MS` fails, and then the connection is
 *   dropped and renewed: a Redis that accepts connections but never answers is not "ready" (the
 *   ready check never completes), so requests stop waiting for it;
 * - after any failed command Redis is skipped for {@link REDIS_BREAKER_MS} or until a new
 *   connection is ready, whichever comes first;
 * - reconnection runs in the background (backoff up to 2 s).
 * Callers fall back to per-instance memory while {@link available} is false.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  /** The connection; undefined without `REDIS_URL`. */
  readonly client?: Redis;
  private down = false;
  private skipUntil = 0;
  private readonly target: string;

  constructor(config: PlatformConfig, @Optional() secrets?: SecretsService) {
    const redis = config.redis;
    this.target = redis ? redactedUrl(redis.url) : '';
    if (!redis) return;
    const password = () => (secrets?.has(REDIS_PASSWORD.name) ? secrets.get(REDIS_PASSWORD.name) : undefined);
    const client = new Redis(redis.url, {
      ...(password() !== undefined && { password: password() }),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: redis.commandTimeoutMs,
      connectTimeout: Math.max(1000, redis.commandTimeoutMs * 4),
      enableAutoPipelining: true,
      retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    });
    secrets?.onChange((name) => {
      // ioredis reads options.password at each (re)connection.
      if (name === REDIS_PASSWORD.name) client.options.password = password();
    });
    // Without an 'error' listener ioredis would print every failed reconnection; an outage is logged once.
    client.on('error', (err: Error) => this.noteDown(err));
    client.on('close', () => this.noteDown());
    // A fresh connection is a fresh chance: the breaker does not outlive it.
    client.on('ready', () => {
      this.skipUntil = 0;
    });
    this.client = client;
  }

  /** True when the connection is ready, whatever the breaker says (for checks that must not be skipped). */
  get connected(): boolean {
    return this.client?.status === 'ready';
  }

  /** True when commands can be sent now: connected, ready, and no command failed just before. */
  get available(): boolean {
    return this.client?.status === 'ready' && Date.now() >= this.skipUntil;
  }

  /** Called by users of the connection after a command answered: ends an outage in the log. */
  commandSucceeded(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log(
      { redis: this.target },
      'Redis is reachable again: shared rate limits and DPoP replay checks resume',
    );
  }

  /** Called by users of the connection when a command failed: opens the breaker; a timeout also renews the connection. */
  commandFailed(err: Error): void {
    this.skipUntil = Date.now() + REDIS_BREAKER_MS;
    this.noteDown(err);
    if (/timed out/i.test(err.message) && this.client?.status === 'ready') this.client.disconnect(true);
  }

  private noteDown(err?: Error): void {
    if (this.down || !this.client) return;
    this.down = true;
    this.logger.warn(
      { redis: this.target, error: err?.message },
      "Redis is unreachable: rate limits and DPoP replay checks fall back to this instance's memory until it is back",
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    this.client.removeAllListeners('close');
    await this.client.quit().catch(() => this.client?.disconnect());
  }
}

/** A Redis URL without its credentials, for log lines. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}
