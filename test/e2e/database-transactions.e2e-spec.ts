import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installPoolTransactions } from '@platform/database/testing';
import { isDatabaseUnavailable } from '@platform/http/testing';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * The transaction helper against a relay that cuts and hangs PostgreSQL connections: whatever
 * fails (BEGIN, a statement, ROLLBACK, COMMIT), the pooled client is given back, and destroyed
 * when it may be unusable; a healthy one is reused.
 */
describe.runIf(process.env.TEST_DATABASE_URL)('transactions on a pool whose connections are cut or hang', () => {
  let proxy: TcpProxy;
  let pool: Pool;
  let db: ReturnType<typeof drizzle>;
  const busy = () => pool.totalCount - pool.idleCount;
  const backendPid = async (tx: { execute: typeof db.execute }) =>
    Number(((await tx.execute(sql`select pg_backend_pid() as pid`)).rows[0] as { pid: number }).pid);

  beforeAll(async () => {
    const target = new URL(process.env.TEST_DATABASE_URL as string);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });
  afterAll(() => proxy?.close());
  afterEach(async () => {
    proxy.restore();
    await pool?.end();
  });

  /** A pool like the platform's, with short timeouts (milliseconds) so that hangs end quickly. */
  const open = () => {
    const viaProxy = new URL(process.env.TEST_DATABASE_URL as string);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    pool = new Pool({
      connectionString: viaProxy.toString(),
      max: 2,
      connectionTimeoutMillis: 1000,
      query_timeout: 300,
    });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    db = drizzle(pool);
    installPoolTransactions(db, pool, 200);
  };

  it('commits, nests with savepoints, and reuses the client after a callback error that rolled back', async () => {
    open();
    const first = await db.transaction(async (tx) => {
      await tx.transaction(async (inner) => inner.execute(sql`select 1`));
      return backendPid(tx);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        throw new Error('the handler refused');
      }),
    ).rejects.toThrow('the handler refused');
    expect(busy()).toBe(0);
    // The same connection serves the next transaction: a clean rollback does not cost a reconnect.
    expect(await db.transaction((tx) => backendPid(tx))).toBe(first);
  });

  it('a BEGIN that fails (the connection hangs) gives its client back, destroyed; the next transaction works', async () => {
    open();
    await db.transaction((tx) => tx.execute(sql`select 1`));
    proxy.stall();
    const failures = await Promise.all(
      Array.from({ length: 4 }, () =>
        db
          .transaction((tx) => tx.execute(sql`select 1`))
          .then(
            () => undefined,
            (err: Error) => err,
          ),
      ),
    );
    expect(failures.every((err) => err instanceof Error && isDatabaseUnavailable(err))).toBe(true);
    proxy.restore();
    // drizzle's own helper leaked each client whose BEGIN failed: two of them emptied this pool for good.
    expect(await db.transaction(async (tx) => (await tx.execute(sql`select 1 as one`)).rows[0])).toEqual({ one: 1 });
    expect(busy()).toBe(0);
  });

  it('a connection cut mid-transaction: the callback fails, the client is destroyed, never reused', async () => {
    open();
    const failures: unknown[] = [];
    for (let round = 0; round < 3; round++) {
      const result = await db
        .transaction(async (tx) => {
          await tx.execute(sql`select 1`);
          proxy.cut();
          await tx.execute(sql`select 2`);
        })
        .catch((err: unknown) => err);
      failures.push(result);
      expect(busy()).toBe(0);
      proxy.restore();
    }
    expect(failures.every((err) => isDatabaseUnavailable(err))).toBe(true);
    expect(await db.transaction(async (tx) => (await tx.execute(sql`select 3 as three`)).rows[0])).toEqual({
      three: 3,
    });
  });

  it('a connection that hangs mid-transaction: ROLLBACK is not waited for, the client is destroyed', async () => {
    open();
    const pidBefore = await db.transaction((tx) => backendPid(tx));
    const failed = await db
      .transaction(async (tx) => {
        proxy.stall();
        await tx.execute(sql`select 1`);
      })
      .catch((err: unknown) => err);
    expect(isDatabaseUnavailable(failed)).toBe(true);
    expect(pool.totalCount).toBe(0);
    proxy.restore();
    expect(await db.transaction((tx) => backendPid(tx))).not.toBe(pidBefore);
  });

  it('a COMMIT that fails destroys the client: its outcome is unknown to it', async () => {
    open();
    const failed = await db
      .transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        // The connection goes away right after the callback, before COMMIT reaches the server.
        queueMicrotask(() => proxy.cut());
      })
      .catch((err: unknown) => err);
    expect(isDatabaseUnavailable(failed)).toBe(true);
    expect(pool.totalCount).toBe(0);
  });
});
