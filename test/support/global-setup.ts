import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Debian's Chromium, which the browser suite drives with playwright-core (its own browser download cannot work here). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Environment variable naming this run's migrated PGlite template (copied by each e2e suite: initdb takes seconds). */
export const PGLITE_TEMPLATE_ENV = 'PLATFORM_TEST_PGLITE_TEMPLATE';

/**
 * Runs once per `npm test`: builds this run's PGlite template and says which databases the e2e
 * suites use. Returns the teardown that removes the template.
 */
export default async function setup(): Promise<() => void> {
  const remote = process.env.PLATFORM_URL;
  if (remote) {
    process.stdout.write(
      `\n[e2e] PLATFORM_URL=${remote}: the remote-capable suites (test/e2e/remote: main flows of every app, access conformance) run against it, in tenants of their own.\n` +
        '[e2e] Skipped, as they need the platform\'s process (its logs, restarts, injected faults, database and Redis): every other suite and the unit tests. Run them with npm test.\n',
    );
    return () => undefined;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const template = mkdtempSync(path.join(tmpdir(), 'platform-pglite-template-'));
  const client = await PGlite.create(path.join(template, 'pglite'));
  await migrate(drizzle(client), { migrationsFolder: path.resolve(__dirname, '../../migrations') });
  await client.close();
  process.env[PGLITE_TEMPLATE_ENV] = template;
  const pg = process.env.TEST_DATABASE_URL;
  process.stdout.write(
    pg
      ? `\n[e2e] PostgreSQL suites: ON (TEST_DATABASE_URL=${new URL(pg).host}); embedded PGlite suites: ON\n`
      : '\n[e2e] PostgreSQL suites: SKIPPED (TEST_DATABASE_URL is not set); every e2e suite runs on embedded PGlite.\n' +
          '[e2e] Skipped, as they need a PostgreSQL server: the database outage (audit-durability), two instances sharing one database (access-control), the rotating database password (secrets), a hung connection at shutdown (database-shutdown), transactions on connections cut or hung (database-transactions), database cuts and hangs under write load (faults-database), kill -9 under write load and restart (faults-crash).\n',
  );
  const redis = process.env.TEST_REDIS_URL;
  process.stdout.write(
    redis
      ? `[e2e] Redis suites: ON (TEST_REDIS_URL=${new URL(redis).host})\n`
      : '[e2e] Redis suites: SKIPPED (TEST_REDIS_URL is not set): two instances sharing rate limits and DPoP replay checks, Redis going away or hanging (rate-limits), budgets split between instances while Redis is cut or hangs under load (fault-authz), batched counters on two connections (libs/redis).\n',
  );
  process.stdout.write(
    existsSync(CHROMIUM_PATH)
      ? `[e2e] Browser suite (console): ON (${CHROMIUM_PATH})\n`
      : `[e2e] Browser suite (console): SKIPPED (no ${CHROMIUM_PATH}; install Debian's chromium, as .ci/run does).\n`,
  );
  return () => rmSync(template, { recursive: true, force: true });
}
