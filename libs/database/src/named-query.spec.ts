import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parsePlatformConfig } from '@platform/config';
import { PGLITE_TEMPLATE_ENV } from '../../../test/support/global-setup';
import { DatabaseService } from './database.service';
import { executeNamed } from './named-query';

describe('executeNamed (embedded database)', () => {
  let dataDir: string;
  let database: DatabaseService;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'named-query-'));
    cpSync(process.env[PGLITE_TEMPLATE_ENV] as string, dataDir, { recursive: true });
    database = new DatabaseService(parsePlatformConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }), () => undefined);
    await database.open();
  });
  afterAll(async () => {
    await database?.onApplicationShutdown();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs drizzle SQL as one named statement: object rows, on the pool and in a transaction', async () => {
    const query = (n: number) => sql`select ${n}::int + 1 as next, ${'label'}::text as label`;
    expect((await executeNamed(database.db, 'named_query_spec', query(1))).rows).toEqual([{ next: 2, label: 'label' }]);
    const inTransaction = await database.dedicated().transaction(async (tx) => {
      // drizzle's transaction runs on one pooled client: the statement is prepared on it.
      const client = (tx as unknown as { session: { client: { query: (...args: unknown[]) => unknown } } }).session
        .client;
      const sent = vi.spyOn(client, 'query');
      const result = await executeNamed<{ next: number }>(tx, 'named_query_spec', query(41));
      expect(sent).toHaveBeenCalledWith(expect.objectContaining({ name: 'named_query_spec', values: [41, 'label'] }));
      return result.rows;
    });
    expect(inTransaction).toEqual([{ next: 42, label: 'label' }]);
  });

  it('fails as db.execute does (the driver error), the connection usable after it', async () => {
    const divide = (by: number) => sql`select 1 / ${by}::int as q`;
    await expect(executeNamed(database.db, 'named_query_spec_fail', divide(0))).rejects.toMatchObject({
      code: '22012',
    });
    expect((await executeNamed(database.db, 'named_query_spec_fail', divide(1))).rows).toEqual([{ q: 1 }]);
  });
});
