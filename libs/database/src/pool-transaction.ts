import { sql } from 'drizzle-orm';
import { NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres';
import type { TablesRelationalConfig } from 'drizzle-orm';
import type { PgTransactionConfig } from 'drizzle-orm/pg-core';
import type { Pool, PoolClient } from 'pg';

/**
 * Longest wait for `ROLLBACK`, in milliseconds. A rollback that takes longer is on a connection
 * that hangs (or is stuck behind a query that timed out on the client but never finished): that
 * connection is destroyed instead of waited for.
 */
export const ROLLBACK_TIMEOUT_MS = 2000;

type Tx = NodePgTransaction<Record<string, unknown>, TablesRelationalConfig>;

/** The parts of drizzle's node-postgres session a transaction on one pooled client needs. */
interface SessionParts {
  dialect: ConstructorParameters<typeof NodePgTransaction>[0];
  schema: ConstructorParameters<typeof NodePgTransaction>[2];
  options: ConstructorParameters<typeof NodePgSession>[3];
}

/**
 * Replaces `db.transaction` of a drizzle node-postgres database over `pool` with
 * {@link poolTransaction}: same signature and semantics (`BEGIN`, the callback, `COMMIT`, or
 * `ROLLBACK` and the callback's error rethrown; `tx.transaction` nests with savepoints), but the
 * pooled client is always given back, and destroyed whenever it may be unusable.
 *
 * Why not drizzle's own (drizzle-orm 0.45, issues #6023, #6241, #6114): a failed `BEGIN` is outside
 * its `try`, so the client is never released (after a few database cuts the pool is empty for good:
 * "timeout exceeded when trying to connect"); and a client whose `ROLLBACK` or `COMMIT` failed, or
 * is stuck behind a timed-out query, is released as healthy, poisoning the next transaction.
 *
 * Reaches into drizzle's session (`dialect`, `schema`, `options`): a unit test pins these, so an
 * upgrade that moves them fails a test instead of a production transaction.
 *
 * @throws Error when `db` is not a drizzle node-postgres database (no such session)
 */
export function installPoolTransactions(db: object, pool: Pool, rollbackTimeoutMs = ROLLBACK_TIMEOUT_MS): void {
  const session = (db as { session?: Partial<SessionParts> & { transaction?: unknown } }).session;
  // Not `instanceof NodePgSession`: the ESM and CommonJS builds of drizzle are two classes.
  if (!session || typeof session.transaction !== 'function' || !session.dialect) {
    throw new Error('installPoolTransactions: not a drizzle node-postgres database');
  }
  const parts = session as unknown as SessionParts;
  const transaction = (fn: (tx: Tx) => Promise<unknown>, config?: PgTransactionConfig) =>
    poolTransaction(pool, parts, fn, config, rollbackTimeoutMs);
  session.transaction = transaction;
}

/**
 * Runs `fn` in a transaction on one client checked out of `pool`.
 * The client goes back to the pool only after a successful `COMMIT` or `ROLLBACK`; after a failed
 * `BEGIN`, `COMMIT` or `ROLLBACK` (or one slower than `rollbackTimeoutMs`) it is released with the
 * error, so pg-pool removes it, and its socket is destroyed (a hung peer never answers `end()`).
 *
 * @returns what `fn` returns, after `COMMIT`
 * @throws the error of `pool.connect()`, `BEGIN` or `COMMIT`, or the callback's own error (after rollback)
 */
export async function poolTransaction<T>(
  pool: Pool,
  parts: SessionParts,
  fn: (tx: Tx) => Promise<T>,
  config: PgTransactionConfig | undefined,
  rollbackTimeoutMs: number,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const txSession = new NodePgSession(client, parts.dialect, parts.schema, parts.options);
    const tx = new NodePgTransaction<Record<string, unknown>, TablesRelationalConfig>(
      parts.dialect,
      txSession,
      parts.schema,
    );
    try {
      await tx.execute(
        sql`begin${config ? sql` ${(tx as unknown as { getTransactionConfigSQL(c: PgTransactionConfig): ReturnType<typeof sql> }).getTransactionConfigSQL(config)}` : undefined}`,
      );
    } catch (err) {
      broken = asError(err);
      throw err;
    }
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      broken = await rollback(tx, rollbackTimeoutMs);
      throw err;
    }
    try {
      await tx.execute(sql`commit`);
    } catch (err) {
      // The outcome is unknown to this client, and the connection may be gone: never reuse it.
      broken = asError(err);
      throw err;
    }
    return result;
  } finally {
    giveBack(client, broken);
  }
}

/** `ROLLBACK`, bounded. @returns the reason the client must not be reused, or undefined when it rolled back */
async function rollback(tx: Tx, timeoutMs: number): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Error>(
    (resolve) => (timer = setTimeout(() => resolve(new Error(`ROLLBACK took longer than ${timeoutMs} ms`)), timeoutMs)),
  );
  try {
    return await Promise.race([tx.execute(sql`rollback`).then(() => undefined, asError), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Releases `client`; with an error it is removed from the pool and its socket closed at once. */
function giveBack(client: PoolClient, broken: Error | undefined): void {
  if (!broken) {
    client.release();
    return;
  }
  client.release(broken);
  // pg-pool ends a removed client with `end()`, which waits for a hung peer; the slot is already
  // free, this frees the socket too (pg 8.x: `connection.stream`).
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
