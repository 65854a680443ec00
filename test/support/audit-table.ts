import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { sql } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import type { TestPlatform } from './test-platform';

const ROOT = path.resolve(__dirname, '../..');

/** Every row of the platform's audit table, through its own connection, in id order (raw column names). */
export async function auditTable(
  platform: TestPlatform,
): Promise<Array<{ id: number; request_id: string; kind: string; event: string | null; status: number }>> {
  const database = platform.running.app.get(DatabaseService);
  const result = (await database.db.execute(
    sql`select id::int as id, request_id, kind, event, status from audit_records order by id`,
  )) as {
    rows: Array<{ id: number; request_id: string; kind: string; event: string | null; status: number }>;
  };
  return result.rows;
}

/** Runs `npm run audit:verify` against a database, as an operator would. */
export function runAuditVerify(database: {
  dataDir: string;
  databaseUrl?: string;
}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', DATA_DIR: database.dataDir };
  delete env.DATABASE_URL;
  if (database.databaseUrl) env.DATABASE_URL = database.databaseUrl;
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', 'audit:verify'], { cwd: ROOT, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
