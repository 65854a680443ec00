import { randomBytes } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { bigint, bigserial, boolean, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformClient, StatementCache } from './platform-client';
import { specTargets, type SpecTarget } from './spec-targets.testing';
import { preparedTableSelect } from './table-select';

const targets = specTargets('table-select');

// Tables unique to this run: PostgreSQL may be shared with other test runs.
const suffix = randomBytes(4).toString('hex');
const parents = pgTable(`ts_parents_${suffix}`, {
  id: uuid('id').primaryKey(),
  tenant: text('tenant').notNull(),
  note: text('note'),
  total: bigint('total', { mode: 'number' }).notNull(),
  done: boolean('done').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  plainAt: timestamp('plain_at', { mode: 'string' }),
});
const children = pgTable(`ts_children_${suffix}`, {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  parentId: uuid('parent_id').notNull(),
  position: integer('position').notNull(),
  label: text('label'),
});

const WITH_CHILDREN = '6b1c7f9e-3f5a-4c2e-9a57-2d0f1f4c8e11';
const WITHOUT = '0f0e2a3b-1111-4c2e-9a57-2d0f1f4c8e12';

describe.each(targets)('preparedTableSelect on %s', (_, open) => {
  let target: SpecTarget;
  let pool: Pool;
  let db: ReturnType<typeof drizzle<Record<string, never>, Pool>>;

  beforeAll(async () => {
    target = await open();
    pool = new Pool({ ...target.config, Client: platformClient(target.shared ? new StatementCache() : undefined) });
    db = drizzle(pool);
    await pool.query(`create table ts_parents_${suffix} (id uuid primary key, tenant text not null, note text,
      total int8 not null, done bool not null, created_at timestamptz(3) not null, plain_at timestamp)`);
    await pool.query(`create table ts_children_${suffix} (id bigserial primary key, parent_id uuid not null,
      position int not null, label text)`);
    await pool.query(`insert into ts_parents_${suffix} values
      ('${WITH_CHILDREN}', 'acme', null, 9007199254740991, true, '2026-01-02 03:04:05.678+01', '2026-01-02 03:04:05'),
      ('${WITHOUT}', 'acme', 'n', 0, false, '2026-03-04 05:06:07.001+00', null)`);
    await pool.query(`insert into ts_children_${suffix} (parent_id, position, label) values
      ('${WITH_CHILDREN}', 2, null), ('${WITH_CHILDREN}', 1, 'first')`);
  });
  afterAll(async () => {
    for (const name of ['parents', 'children']) await pool?.query(`drop table if exists ts_${name}_${suffix}`);
    await pool?.end();
    await target?.close();
  });

  const query = () =>
    db
      .select({ parent: parents, child: children })
      .from(parents)
      .leftJoin(children, eq(children.parentId, parents.id))
      .where(and(eq(parents.tenant, sql.placeholder('tenant')), eq(parents.id, sql.placeholder('id'))))
      .orderBy(asc(children.position));

  it("gives drizzle's own rows: decoded values, null columns, an unmatched left join as null, no row", async () => {
    const drizzles = query().prepare(`ts_drizzle_${suffix}`);
    const ours = preparedTableSelect(db, query(), `ts_ours_${suffix}`, { parent: parents, child: children }, ['child']);
    for (const id of [WITH_CHILDREN, WITHOUT, '00000000-0000-4000-8000-000000000000']) {
      // Twice: the first execution describes the statement, the second reuses the description.
      for (let i = 0; i < 2; i++)
        expect(await ours({ tenant: 'acme', id })).toEqual(await drizzles.execute({ tenant: 'acme', id }));
    }
    const [first, second] = await ours({ tenant: 'acme', id: WITH_CHILDREN });
    expect(first.parent.createdAt).toEqual(new Date('2026-01-02T02:04:05.678Z'));
    expect(first.parent.total).toBe(9007199254740991);
    expect(first.parent.note).toBeNull();
    expect(first.parent.plainAt).toBe('2026-01-02 03:04:05');
    expect(first.child).toMatchObject({ parentId: WITH_CHILDREN, position: 1, label: 'first' });
    expect(typeof first.child?.id).toBe('number');
    expect(second.child?.label).toBeNull();
    const [alone] = await ours({ tenant: 'acme', id: WITHOUT });
    expect(alone.child).toBeNull();
    expect(alone.parent).toMatchObject({ id: WITHOUT, note: 'n', plainAt: null });
    expect(await ours({ tenant: 'other', id: WITH_CHILDREN })).toEqual([]);
  });
});
