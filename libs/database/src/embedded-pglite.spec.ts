import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '@platform/http/testing';
import { PGLITE_TEMPLATE_ENV } from '../../../test/support/global-setup';
import { EmbeddedPglite } from './embedded-pglite';

/** A copy of the migrated PGlite template (global setup), so that no test pays for initdb. */
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'embedded-pglite-'));
  cpSync(process.env[PGLITE_TEMPLATE_ENV] as string, dir, { recursive: true });
  return path.join(dir, 'pglite');
}

describe('EmbeddedPglite: PGlite in a worker thread behind node-postgres', () => {
  let embedded: EmbeddedPglite;
  let pool: Pool;
  let dir: string;
  beforeAll(async () => {
    dir = dataDir();
    embedded = await EmbeddedPglite.start(dir);
    pool = new Pool({ ...embedded.poolConfig(), max: 4 });
    await pool.query('create table embedded_spec (id int primary key, note text)');
  });
  afterAll(async () => {
    await pool.end();
    await embedded.close();
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('starts the engine with its memory settings: shared_buffers 16MB, WebAssembly memory at its 128 MB floor', async () => {
    expect((await pool.query('show shared_buffers')).rows).toEqual([{ shared_buffers: '16MB' }]);
    const usage = await embedded.memoryUsage();
    expect(usage.engine).toBe(128 * 2 ** 20);
    expect(usage.heapUsed).toBeGreaterThan(0);
  });

  it('carries large messages both ways (transferred above 64 KiB) next to small ones', async () => {
    const big = 'é'.repeat(300_000);
    const [echoed, small] = await Promise.all([
      pool.query<{ text: string }>('select $1::text as text', [big]),
      pool.query<{ n: number }>('select 1 as n'),
    ]);
    expect(echoed.rows[0].text).toBe(big);
    expect(small.rows).toEqual([{ n: 1 }]);
  });

  it('answers queries with SQL errors as PostgreSQL does (SQLSTATE, connection still usable)', async () => {
    await expect(pool.query('select * from no_such_table')).rejects.toMatchObject({ code: '42P01' });
    expect((await pool.query('select $1::int + 1 as n', [41])).rows).toEqual([{ n: 42 }]);
  });

  it('runs one named prepared statement from several connections (the backend parses it once)', async () => {
    const insert = (id: number) =>
      pool.query({
        name: 'embedded_spec_insert',
        text: 'insert into embedded_spec values ($1, $2)',
        values: [id, `n${id}`],
      });
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(insert));
    const prepared = await pool.query(
      `select count(*)::int as n from pg_prepared_statements where name = 'embedded_spec_insert'`,
    );
    expect(prepared.rows).toEqual([{ n: 1 }]);
    expect((await pool.query('select count(*)::int as n from embedded_spec')).rows).toEqual([{ n: 8 }]);
  });

  it('isolates a transaction: other connections wait for its end and never see its rolled-back rows', async () => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('insert into embedded_spec values (100, $1)', ['rolled back']);
      const outside = pool.query('select count(*)::int as n from embedded_spec where id = 100');
      await client.query('rollback');
      expect((await outside).rows).toEqual([{ n: 0 }]);
    } finally {
      client.release();
    }
  });

  it('rolls back the transaction of a connection that goes away inside it', async () => {
    const client = await pool.connect();
    await client.query('begin');
    await client.query('insert into embedded_spec values (101, $1)', ['abandoned']);
    client.release(new Error('abandoned'));
    expect((await pool.query('select count(*)::int as n from embedded_spec where id = 101')).rows).toEqual([{ n: 0 }]);
  });

  it('ends a connection gracefully: client.end() resolves (the socket closes)', async () => {
    const client = new Client(embedded.poolConfig());
    await client.connect();
    expect((await client.query('select 1 as n')).rows).toEqual([{ n: 1 }]);
    await client.end();
  });

  it('recycles a connection past its lifetime and serves the next query on a new one', async () => {
    const recycling = new Pool({ ...embedded.poolConfig(), max: 1, maxLifetimeSeconds: 1 });
    try {
      const first = await recycling.query('select pg_backend_pid() as pid');
      expect(first.rows).toHaveLength(1);
      // pg-pool emits 'remove' only once the expired client's end() has completed.
      await once(recycling, 'remove');
      expect(recycling.totalCount).toBe(0);
      expect((await recycling.query('select 2 as n')).rows).toEqual([{ n: 2 }]);
    } finally {
      await recycling.end();
    }
  });
});

describe('EmbeddedPglite on a fresh folder', () => {
  it('frees what initdb left before it is ready (about 430 MB more otherwise)', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'embedded-pglite-fresh-'));
    const embedded = await EmbeddedPglite.start(dir);
    try {
      const usage = await embedded.memoryUsage();
      // The engine's 128 MB, the fs bundle's few MB: initdb's engine and its heap copy are gone.
      expect(usage.external).toBeLessThan(usage.engine + 64 * 2 ** 20);
    } finally {
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('EmbeddedPglite when the worker ends', () => {
  it('fails open and new connections as unavailable (503), never hangs; close flushes what committed', async () => {
    const dir = dataDir();
    const exits: number[] = [];
    const embedded = await EmbeddedPglite.start(dir, (code) => exits.push(code));
    const pool = new Pool({ ...embedded.poolConfig(), max: 2 });
    pool.on('error', () => undefined);
    try {
      await pool.query('create table crash_spec (id int)');
      const client = await pool.connect();
      client.on('error', () => undefined);
      await (embedded as unknown as { worker: import('node:worker_threads').Worker }).worker.terminate();
      const open = await client.query('select 1').catch((err: Error) => err);
      expect(isDatabaseUnavailable(open)).toBe(true);
      client.release(true);
      const fresh = await pool.query('select 1').catch((err: Error) => err);
      expect(isDatabaseUnavailable(fresh)).toBe(true);
      expect(embedded.running).toBe(false);
      expect(exits).toHaveLength(1);
    } finally {
      await pool.end();
      await embedded.close();
    }
    // The data folder reopens (PGlite recovers), with the table committed before the end.
    const reopened = await EmbeddedPglite.start(dir);
    const again = new Pool({ ...reopened.poolConfig(), max: 1 });
    try {
      expect((await again.query('select count(*)::int as n from crash_spec')).rows).toEqual([{ n: 0 }]);
    } finally {
      await again.end();
      await reopened.close();
      rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });
});
