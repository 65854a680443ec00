import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Request ids in the audit table, with how often each appears. */
export async function auditedIds(dataDir: string, databaseUrl?: string): Promise<Map<string, number>> {
  // Access records only: domain events (kind 'event') share their request's id.
  const sql = "select request_id from audit_records where kind = 'access'";
  let rows: { request_id: string }[];
  if (databaseUrl) {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    rows = (await client.query<{ request_id: string }>(sql)).rows;
    await client.end();
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(path.join(dataDir, 'pglite'));
    rows = (await db.query<{ request_id: string }>(sql)).rows;
    await db.close();
  }
  const counts = new Map<string, number>();
  for (const { request_id } of rows) counts.set(request_id, (counts.get(request_id) ?? 0) + 1);
  return counts;
}

export async function createDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { Client } = await import('pg');
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Request ids of access records a stopped platform kept on disk for its next start: in the audit
 * journal or in a write-ahead log segment (`DATA_DIR/audit-journal`). Durable, written to the
 * database at the next start, so not lost (the bench does not restart the platform).
 */
export function journalledIds(dataDir: string): Set<string> {
  const dir = path.join(dataDir, 'audit-journal');
  const ids = new Set<string>();
  if (!existsSync(dir)) return ids;
  for (const name of readdirSync(dir)) {
    if (name !== 'audit-journal.ndjson' && !/^audit-wal-\d+\.ndjson$/.test(name)) continue;
    for (const line of readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      let row: { kind?: string; requestId?: string };
      try {
        row = JSON.parse(line) as typeof row;
      } catch {
        continue; // empty, or torn by a crash
      }
      if (row.kind === 'access' && row.requestId) ids.add(row.requestId);
    }
  }
  return ids;
}
