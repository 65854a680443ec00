import type { Logger } from '@nestjs/common';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Pool, type PoolConfig } from 'pg';
import { installPoolTransactions } from './pool-transaction';

/**
 * A Drizzle handle on a pool of exactly one connection, beside the request pool: a background
 * writer (the audit batches, with their advisory lock) never takes a request's slot, and requests
 * never wait behind its transaction for a client. A connection lost (reset, `ROLLBACK` failed) is
 * dropped by the pool and the next use opens a new one: it reconnects on demand. The same bounds as
 * the request pool (5 s to connect, 30 s per query, recycled every 10 minutes).
 *
 * @param connection node-postgres options of the request pool (PostgreSQL, or the embedded worker)
 * @returns the handle (no connection is opened before its first query) and its pool, for shutdown
 */
export function openDedicatedPool(
  connection: PoolConfig,
  logger: Logger,
): { db: ReturnType<typeof drizzle>; pool: Pool } {
  const pool = new Pool({
    ...connection,
    max: 1,
    // Kept open between batches (pg's default would close it after 10 s idle and reconnect per lull).
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 5000,
    query_timeout: 30_000,
    maxLifetimeSeconds: 600,
  });
  pool.on('error', (err) => logger.error({ err }, 'PostgreSQL dedicated connection error'));
  // A checked-out client has no pool listener: a reset there must not end the process.
  pool.on('connect', (client) => client.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost')));
  const db = drizzle(pool);
  installPoolTransactions(db, pool);
  return { db, pool };
}
