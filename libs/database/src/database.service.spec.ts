import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
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
});
