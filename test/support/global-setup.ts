import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';

/** Folder with a migrated PGlite data directory that each e2e suite copies (initdb takes seconds). */
export const PGLITE_TEMPLATE = path.resolve(__dirname, '../../.tmp/pglite-template');

/**
 * Runs once per `npm test`: builds the PGlite template and says which database the e2e suites use.
 */
export default async function setup(): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  rmSync(PGLITE_TEMPLATE, { recursive: true, force: true });
  mkdirSync(PGLITE_TEMPLATE, { recursive: true });
  const client = await PGlite.create(path.join(PGLITE_TEMPLATE, 'pglite'));
  await migrate(drizzle(client), { migrationsFolder: path.resolve(__dirname, '../../migrations') });
  await client.close();
  const pg = process.env.TEST_DATABASE_URL;
  process.stdout.write(
    pg
      ? `\n[e2e] PostgreSQL suites: ON (TEST_DATABASE_URL=${new URL(pg).host}); embedded PGlite suites: ON\n`
      : '\n[e2e] PostgreSQL suites: SKIPPED (TEST_DATABASE_URL is not set); every e2e suite runs on embedded PGlite\n',
  );
}
