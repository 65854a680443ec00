import type { SQL } from 'drizzle-orm';
import type { Db } from './database.service';

/** What drizzle's node-postgres database or transaction holds (drizzle-orm 0.45; pinned by named-query.spec.ts). */
interface DrizzleInternals {
  dialect: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
  session: { client: { query(config: { name: string; text: string; values: unknown[] }): Promise<unknown> } };
}

/**
 * Runs `query` on `db` (a drizzle database over the pool, or a transaction on one connection) as
 * the named prepared statement `name`: parsed and planned once per backend, then only bound and
 * executed (the platform's client also skips Describe once the row description is known). For
 * statements run on every batch or request whose plan does not depend on the parameters' values
 * (a generic plan is then cached, as for drizzle's `.prepare(name)`). One name, one SQL text: the
 * backend refuses another text under a name it holds.
 *
 * @returns pg's result, rows as objects keyed by column name
 * @throws the driver's error (`DatabaseError`, connection loss), as `db.execute` would
 */
export async function executeNamed<Row extends Record<string, unknown>>(
  db: Db,
  name: string,
  query: SQL,
): Promise<{ rows: Row[]; rowCount: number | null }> {
  const internals = db as unknown as DrizzleInternals;
  const { sql: text, params } = internals.dialect.sqlToQuery(query);
  return (await internals.session.client.query({ name, text, values: params })) as {
    rows: Row[];
    rowCount: number | null;
  };
}
