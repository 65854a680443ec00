import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'drizzle-orm';
import { Pool } from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePlatformConfig } from '@platform/config';
import { PGLITE_TEMPLATE_ENV } from '../../../test/support/global-setup';
import { DatabaseService } from './database.service';
import { EmbeddedPglite } from './embedded-pglite';

describe('DatabaseService on the embedded database', () => {
  let dataDir: string | undefined;
  afterEach(() => {
    vi.restoreAllMocks();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it('stops the worker and releases the folder lock when a migration fails', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'database-service-'));
    cpSync(process.env[PGLITE_TEMPLATE_ENV] as string, dataDir, { recursive: true });
    const folder = path.join(dataDir, 'pglite');
    // Forget the applied migrations: the first one then fails (its tables exist).
    const embedded = await EmbeddedPglite.start(folder);
    const pool = new Pool({ ...embedded.poolConfig(), max: 1 });
    await pool.query('delete from drizzle.__drizzle_migrations');
    await pool.end();
    await embedded.close();

    const close = vi.spyOn(EmbeddedPglite.prototype, 'close');
    const database = new DatabaseService(parsePlatformConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }), () => undefined);
    await expect(database.open()).rejects.toThrow();
    expect(close).toHaveBeenCalledTimes(1);
    expect(existsSync(`${folder}.lock`)).toBe(false);
  });

  it('gives a dedicated connection beside the request pool: no pool slot taken, reconnects after a cut, open for the drains', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'database-service-'));
    cpSync(process.env[PGLITE_TEMPLATE_ENV] as string, dataDir, { recursive: true });
    const database = new DatabaseService(parsePlatformConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }), () => undefined);
    await database.open();
    const requestPool = (database.db as unknown as { $client: Pool }).$client;
    const idle = requestPool.totalCount;
    const dedicated = database.dedicated();
    const own = (dedicated as unknown as { $client: Pool }).$client;
    expect(own).not.toBe(requestPool);
    const inTransaction = await dedicated.transaction(async (tx) => {
      const result = (await tx.execute(sql`select 1 as one`)) as { rows: unknown[] };
      return result.rows;
    });
    expect(inTransaction).toEqual([{ one: 1 }]);
    // The transaction ran on the dedicated connection, not on a client of the request pool.
    expect(requestPool.totalCount).toBe(idle);
    expect(own.totalCount).toBe(1);
    // Kept open between batches: no idle timeout (pg's default closes an idle client after 10 s).
    expect((own as unknown as { options: { idleTimeoutMillis: number } }).options.idleTimeoutMillis).toBe(0);
    // A cut (the connection reset under it): the next use opens a new connection.
    const clients = (own as unknown as { _clients: Array<{ connection: { stream: { destroy(): void } } }> })._clients;
    const lost = new Promise((resolve) => own.once('error', resolve));
    clients[0].connection.stream.destroy();
    await lost;
    expect(((await dedicated.execute(sql`select 2 as two`)) as { rows: unknown[] }).rows).toEqual([{ two: 2 }]);
    // Drains (the audit writer's last batch) still have it; it is closed with the database.
    let drained: unknown;
    database.beforeClose(async () => {
      drained = ((await dedicated.execute(sql`select 3 as three`)) as { rows: unknown[] }).rows;
    });
    await database.onApplicationShutdown();
    expect(drained).toEqual([{ three: 3 }]);
    expect(own.totalCount).toBe(0);
  });
});
