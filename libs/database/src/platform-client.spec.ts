import { randomBytes } from 'node:crypto';
import { drizzle } from 'drizzle-orm/node-postgres';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { Client, DatabaseError, Pool, types as pgTypes } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { platformClient, StatementCache } from './platform-client';
import { specTargets, type SpecTarget } from './spec-targets.testing';

const targets = specTargets('platform-client');

/** pg's connection, as the client drives it (pg 8.x). */
interface Wire {
  describe(message: unknown): void;
  parse(message: unknown): void;
  close(message: unknown): void;
  parsedStatements: Record<string, string>;
  on(event: 'rowDescription', listener: () => void): void;
}
const wire = (client: Client) => (client as unknown as { connection: Wire }).connection;

/** drizzle's node-postgres type parsers (dates and intervals left as text), the `types` of its prepared queries. */
const drizzleTypes = {
  getTypeParser: (oid: number, format?: string) =>
    [1184, 1114, 1082, 1186, 1231, 1115, 1185, 1187, 1182].includes(oid)
      ? (value: string) => value
      : (pgTypes.getTypeParser(oid, format as 'text') as (value: string) => unknown),
};

describe.each(targets)('platformClient on %s', (_, open) => {
  let target: SpecTarget;
  let Ours: typeof Client;
  let plain: Client;
  let ours: Client;
  // Tables unique to this run: PostgreSQL may be shared with other test runs.
  const suffix = randomBytes(4).toString('hex');
  const table = (name: string) => `pc_${name}_${suffix}`;
  const statement = (name: string) => `pc_${name}_${suffix}`;

  beforeAll(async () => {
    target = await open();
    Ours = platformClient(target.shared ? new StatementCache() : undefined);
    plain = new Client(target.config);
    ours = new Ours(target.config);
    await plain.connect();
    await ours.connect();
    await plain.query(`create table ${table('types')} (
      id int primary key, tz timestamptz, ts timestamp, d date, num numeric, big int8, j json, jb jsonb,
      b bool, t text, ints int[], texts text[], u uuid, f float8, iv interval, by bytea)`);
    await plain.query(
      `insert into ${table('types')} values
        (1, '2026-01-02 03:04:05.678+01', '2026-01-02 03:04:05', '2026-01-02', 12345678901234567890.0123,
         9007199254740993, '{"a":[1,2]}', '{"b":{"c":true}}', true, 'été', '{1,2,null}', '{"a b","c"}',
         '6b1c7f9e-3f5a-4c2e-9a57-2d0f1f4c8e11', 1.5, '1 day 02:03:04', '\\x00ff'),
        (2, null, null, null, null, null, null, null, false, null, null, null, null, null, null, null)`,
    );
  });
  afterAll(async () => {
    for (const name of ['types', 'unique', 'alter', 'pool']) {
      await plain.query(`drop table if exists ${table(name)}`).catch(() => undefined);
    }
    await ours?.end();
    await plain?.end();
    await target?.close();
  });

  it('gives the rows, fields and counts of plain pg for every column type, described once then cached', async () => {
    const text = `select * from ${table('types')} where id = any($1::int[]) order by id`;
    for (const types of [undefined, drizzleTypes]) {
      const name = statement(types ? 'types_drizzle' : 'types_default');
      const config = types
        ? { name, text, rowMode: 'array' as const, types }
        : { name, text, rowMode: 'array' as const };
      const expected = await plain.query(config, [[1, 2]]);
      const first = await ours.query(config, [[1, 2]]);
      const second = await ours.query(config, [[1, 2]]);
      for (const result of [first, second]) {
        expect(result.rows).toEqual(expected.rows);
        expect(result.fields).toEqual(expected.fields);
        expect(result.rowCount).toBe(2);
        expect(result.command).toBe('SELECT');
      }
      expect(expected.rows[0][4]).toBe('12345678901234567890.0123');
    }
  });

  it('sends Describe (and receives a RowDescription) on the first execution only', async () => {
    const connection = wire(ours);
    const describes = vi.spyOn(connection, 'describe');
    let rowDescriptions = 0;
    connection.on('rowDescription', () => rowDescriptions++);
    const config = { name: statement('describe'), text: 'select $1::int + 1', rowMode: 'array' as const };
    try {
      for (let n = 0; n < 3; n++) expect((await ours.query(config, [n])).rows).toEqual([[n + 1]]);
      expect(describes).toHaveBeenCalledTimes(1);
      expect(rowDescriptions).toBe(1);
    } finally {
      describes.mockRestore();
    }
  });

  it('remembers a statement without rows (Describe answered NoData) and counts what it changed', async () => {
    await plain.query(`create table ${table('nodata')} (id int)`);
    const describes = vi.spyOn(wire(ours), 'describe');
    const config = {
      name: statement('nodata'),
      text: `insert into ${table('nodata')} select generate_series(1, $1::int)`,
      rowMode: 'array' as const,
    };
    try {
      for (const n of [2, 3]) {
        const result = await ours.query(config, [n]);
        expect(result).toMatchObject({ command: 'INSERT', rowCount: n, rows: [], fields: [] });
      }
      expect(describes).toHaveBeenCalledTimes(1);
    } finally {
      describes.mockRestore();
      await plain.query(`drop table ${table('nodata')}`);
    }
  });

  it('routes everything else to pg: object rows, unnamed statements, row limits', async () => {
    const describes = vi.spyOn(wire(ours), 'describe');
    try {
      const name = statement('objects');
      for (let n = 0; n < 2; n++) {
        expect((await ours.query({ name, text: 'select 1 as one' })).rows).toEqual([{ one: 1 }]);
        expect((await ours.query({ text: 'select $1::int as n', rowMode: 'array' }, [n])).rows).toEqual([[n]]);
      }
      // pg's Query describes every time: all four went its way.
      expect(describes).toHaveBeenCalledTimes(4);
    } finally {
      describes.mockRestore();
    }
  });

  it('fails a unique violation as pg does (same DatabaseError), the connection usable after it', async () => {
    await plain.query(`create table ${table('unique')} (id int primary key)`);
    const config = {
      name: statement('insert'),
      text: `insert into ${table('unique')} values ($1) returning id`,
      rowMode: 'array' as const,
    };
    expect((await ours.query(config, [1])).rows).toEqual([[1]]);
    const ourError = await ours.query(config, [1]).catch((err: unknown) => err);
    const pgError = await plain.query(config, [1]).catch((err: unknown) => err);
    expect(ourError).toBeInstanceOf(DatabaseError);
    const { stack: _ours, ...ourFields } = ourError as DatabaseError;
    const { stack: _pg, ...pgFields } = pgError as DatabaseError;
    expect(ourFields).toEqual(pgFields);
    expect(ourFields).toMatchObject({ code: '23505' });
    expect((await ours.query(config, [2])).rows).toEqual([[2]]);
    expect((await ours.query(config, [3])).rows).toEqual([[3]]);
  });

  it('fails a value pg cannot send without breaking the connection', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const config = { name: statement('unsendable'), text: 'select $1::jsonb', rowMode: 'array' as const };
    await expect(ours.query(config, [circular])).rejects.toThrow(/circular/i);
    expect((await ours.query(config, [{ a: 1 }])).rows).toEqual([[{ a: 1 }]]);
  });

  it('after ALTER TABLE changes the result type: one execution fails (0A000), the next is re-prepared and right', async () => {
    await plain.query(`create table ${table('alter')} (id int primary key, v int)`);
    await plain.query(`insert into ${table('alter')} values (1, 42)`);
    const config = {
      name: statement('alter'),
      text: `select v from ${table('alter')} where id = $1`,
      rowMode: 'array' as const,
    };
    expect((await ours.query(config, [1])).rows).toEqual([[42]]);
    await plain.query(`alter table ${table('alter')} alter column v type text`);
    await expect(ours.query(config, [1])).rejects.toMatchObject({ code: '0A000' });
    const closes = vi.spyOn(wire(ours), 'close');
    try {
      const after = await ours.query(config, [1]);
      expect(after.rows).toEqual([['42']]);
      expect(after.fields[0].dataTypeID).toBe(25);
      expect(closes).toHaveBeenCalledTimes(1);
      expect((await ours.query(config, [1])).rows).toEqual([['42']]);
      expect(closes).toHaveBeenCalledTimes(1);
    } finally {
      closes.mockRestore();
    }
  });

  it('after ALTER TABLE, no connection parses rows with the old description (PGlite: one backend for all)', async () => {
    const pool = new Pool({ ...target.config, Client: Ours, max: 2 });
    const [a, b] = [await pool.connect(), await pool.connect()];
    try {
      await a.query(`create table ${table('alter2')} (id int primary key, v int)`);
      await a.query(`insert into ${table('alter2')} values (1, 7)`);
      const config = {
        name: statement('alter2'),
        text: `select v from ${table('alter2')} where id = $1`,
        rowMode: 'array' as const,
      };
      for (const client of [a, b]) expect((await client.query(config, [1])).rows).toEqual([[7]]);
      await a.query(`alter table ${table('alter2')} alter column v type text`);
      await expect(a.query(config, [1])).rejects.toMatchObject({ code: '0A000' });
      expect((await a.query(config, [1])).rows).toEqual([['7']]);
      // PostgreSQL: b's own backend still holds the old statement (one failure there too); PGlite:
      // a re-prepared the one statement of the shared backend, and b must describe it again.
      const first = await b.query(config, [1]).catch((err: DatabaseError) => err);
      if (first instanceof Error) expect(first).toMatchObject({ code: '0A000' });
      else expect(first.rows).toEqual([['7']]);
      expect((await b.query(config, [1])).rows).toEqual([['7']]);
    } finally {
      await a.query(`drop table if exists ${table('alter2')}`).catch(() => undefined);
      a.release();
      b.release();
      await pool.end();
    }
  });

  it('re-prepares a statement the backend no longer holds (DEALLOCATE), after one failure', async () => {
    const config = { name: statement('dealloc'), text: 'select $1::int * 2', rowMode: 'array' as const };
    expect((await ours.query(config, [2])).rows).toEqual([[4]]);
    await ours.query(`deallocate ${config.name}`);
    await expect(ours.query(config, [2])).rejects.toMatchObject({ code: '26000' });
    expect((await ours.query(config, [3])).rows).toEqual([[6]]);
    expect(wire(ours).parsedStatements[config.name]).toBe(config.text);
  });

  it('serves concurrent drizzle prepared queries through a pool (callbacks, several connections)', async () => {
    const pool = new Pool({ ...target.config, Client: Ours, max: 4 });
    try {
      await pool.query(`create table ${table('pool')} (id int primary key, note text)`);
      await pool.query(`insert into ${table('pool')} select g, 'n' || g from generate_series(1, 64) g`);
      const notes = pgTable(table('pool'), { id: integer('id').primaryKey(), note: text('note') });
      const db = drizzle(pool);
      const find = db
        .select({ id: notes.id, note: notes.note })
        .from(notes)
        .where(eq(notes.id, sql.placeholder('id')))
        .prepare(statement('pool_find'));
      for (let round = 0; round < 2; round++) {
        const rows = await Promise.all(Array.from({ length: 64 }, (_, i) => find.execute({ id: i + 1 })));
        expect(rows).toEqual(Array.from({ length: 64 }, (_, i) => [{ id: i + 1, note: `n${i + 1}` }]));
      }
      expect(pool.totalCount).toBeGreaterThan(1);
    } finally {
      await pool.end();
    }
  });

  it('prepares an INSERT with parameters on its third execution: results as pg gives them, described once', async () => {
    await plain.query(`create table ${table('auto')} (id int, tz timestamptz, jb jsonb, texts text[])`);
    const parses = vi.spyOn(wire(ours), 'parse');
    const describes = vi.spyOn(wire(ours), 'describe');
    const text = `insert into ${table('auto')} values ($1, $2, $3, $4)`;
    const values = (id: number) => [id, new Date('2026-01-02T03:04:05.678Z'), { a: [1, id] }, ['x', null]];
    const namedParses = (sent: string) =>
      parses.mock.calls
        .map(([message]) => message as { name?: string; text: string })
        .filter((message) => message.text === sent && message.name);
    try {
      for (const rowMode of [undefined, 'array' as const]) {
        const config = rowMode ? { text: `${text} -- ${rowMode}`, rowMode } : { text };
        for (let n = 0; n < 5; n++) {
          const expected = await plain.query(config, values(n));
          const result = await ours.query(config, values(n));
          expect(result.rows).toEqual(expected.rows);
          expect(result).toMatchObject({ command: 'INSERT', rowCount: 1 });
        }
        // Unnamed twice (pg's path), then parsed once under its own name; described once from then on.
        const named = namedParses(config.text);
        expect(named).toHaveLength(1);
        expect(named[0].name).toMatch(/^platform_auto_\d+$/);
      }
      expect(describes).toHaveBeenCalledTimes(2 * 2 + 2);
      const stored = await plain.query(`select jb, texts from ${table('auto')} where id = 4`);
      expect(stored.rows).toEqual([
        { jb: { a: [1, 4] }, texts: ['x', null] },
        { jb: { a: [1, 4] }, texts: ['x', null] },
        { jb: { a: [1, 4] }, texts: ['x', null] },
        { jb: { a: [1, 4] }, texts: ['x', null] },
      ]);
      // A column's type changes under it: no result type to change, the statement goes on running.
      await plain.query(`alter table ${table('auto')} alter column id type bigint`);
      expect((await ours.query(text, values(7))).rowCount).toBe(1);
    } finally {
      parses.mockRestore();
      describes.mockRestore();
      await plain.query(`drop table ${table('auto')}`);
    }
  });

  it('never names an INSERT ... RETURNING, a SELECT, or a text without parameters', async () => {
    await plain.query(`create table ${table('unnamed')} (id int)`);
    const parses = vi.spyOn(wire(ours), 'parse');
    try {
      for (let n = 0; n < 4; n++) {
        // RETURNING: a column type change would make a prepared one fail (0A000) where pg's runs.
        expect((await ours.query(`insert into ${table('unnamed')} values ($1) returning id`, [n])).rows).toEqual([
          { id: n },
        ]);
        // A SELECT's generic plan may not fit other data.
        expect((await ours.query(`select id from ${table('unnamed')} where id = $1`, [n])).rows).toEqual([{ id: n }]);
        // The simple protocol, where a text may hold several statements.
        const results = (await ours.query(`insert into ${table('unnamed')} values (9); select 1 as one`)) as unknown;
        expect(results).toHaveLength(2);
      }
      expect(parses.mock.calls.filter(([message]) => (message as { name?: string }).name)).toHaveLength(0);
    } finally {
      parses.mockRestore();
      await plain.query(`drop table ${table('unnamed')}`);
    }
  });

  it("describes drizzle's unprepared INSERT once named, though drizzle sends new type parsers with every query", async () => {
    const rows = pgTable(table('drizzle_auto'), { id: integer('id'), note: text('note') });
    await plain.query(`create table ${table('drizzle_auto')} (id int, note text)`);
    const parses = vi.spyOn(wire(ours), 'parse');
    const describes = vi.spyOn(wire(ours), 'describe');
    try {
      const db = drizzle(ours);
      for (let n = 0; n < 10; n++) await db.insert(rows).values({ id: n, note: `n${n}` });
      expect(parses.mock.calls.filter(([message]) => (message as { name?: string }).name)).toHaveLength(1);
      // Twice by pg's unnamed path, once when named.
      expect(describes).toHaveBeenCalledTimes(3);
      expect((await plain.query(`select count(*)::int as n from ${table('drizzle_auto')}`)).rows).toEqual([{ n: 10 }]);
    } finally {
      parses.mockRestore();
      describes.mockRestore();
      await plain.query(`drop table ${table('drizzle_auto')}`);
    }
  });

  it('names at most `max` texts automatically, and none with `after: 0`', async () => {
    // Names of their own: on PGlite every cache of this suite talks to one backend.
    const prefix = `pc_auto_${suffix}_`;
    const limited = new (platformClient(new StatementCache({ after: 1, max: 2, prefix })))(target.config);
    const off = new (platformClient(new StatementCache({ after: 0, max: 2 })))(target.config);
    await limited.connect();
    await off.connect();
    await plain.query(`create table ${table('automax')} (n int)`);
    try {
      const parses = vi.spyOn(wire(limited), 'parse');
      for (const k of [1, 2, 3]) {
        const inserted = await limited.query(`insert into ${table('automax')} values ($1::int + ${k})`, [1]);
        expect(inserted.rowCount).toBe(1);
      }
      expect((await plain.query(`select n from ${table('automax')} order by n`)).rows).toEqual([
        { n: 2 },
        { n: 3 },
        { n: 4 },
      ]);
      const names = parses.mock.calls.map(([message]) => (message as { name?: string }).name).filter(Boolean);
      expect(names).toEqual([`${prefix}1`, `${prefix}2`]);
      const unnamed = vi.spyOn(wire(off), 'parse');
      for (let n = 0; n < 3; n++) await off.query(`insert into ${table('automax')} values ($1)`, [n]);
      expect(unnamed).toHaveBeenCalledTimes(3);
      expect(unnamed.mock.calls.every(([message]) => !(message as { name?: string }).name)).toBe(true);
    } finally {
      await limited.end();
      await off.end();
      await plain.query(`drop table ${table('automax')}`);
    }
  });

  it('fails the query in flight when the connection is lost, as pg does', async () => {
    const lost = new Ours(target.config);
    // pg reports the loss on the client too (the pool's listener, in the platform).
    lost.on('error', () => undefined);
    await lost.connect();
    const config = { name: statement('lost'), text: 'select $1::int', rowMode: 'array' as const };
    expect((await lost.query(config, [1])).rows).toEqual([[1]]);
    const pending = lost.query(config, [2]);
    (lost as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await expect(pending).rejects.toThrow('Connection terminated unexpectedly');
    await expect(lost.query(config, [3])).rejects.toThrow(/not queryable/);
  });
});
