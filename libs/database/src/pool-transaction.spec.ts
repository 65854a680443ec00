import { drizzle } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { installPoolTransactions } from './pool-transaction';

describe('installPoolTransactions', () => {
  it("finds the parts of drizzle's node-postgres session it relies on, and replaces its transaction", () => {
    // No connection is made: this pins drizzle's internals (session, dialect), which an upgrade may move.
    const pool = new Pool({ host: '127.0.0.1', port: 1 });
    const db = drizzle(pool);
    const session = (db as unknown as { session: { transaction: unknown; dialect: unknown } }).session;
    const original = session.transaction;
    expect(session.dialect).toBeTypeOf('object');
    installPoolTransactions(db, pool);
    expect(session.transaction).not.toBe(original);
  });

  it('refuses a database that is not drizzle over node-postgres', () => {
    expect(() => installPoolTransactions({}, new Pool())).toThrow(/not a drizzle node-postgres database/);
    expect(() => installPoolTransactions(drizzlePglite as unknown as object, new Pool())).toThrow(
      /not a drizzle node-postgres database/,
    );
  });
});
