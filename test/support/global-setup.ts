import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Debian's Chromium, which the browser suite drives with playwright-core (its own browser download cannot work here). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Environment variable naming this run's migrated PGlite template (copied by each e2e suite: initdb takes seconds). */
export const PGLITE_TEMPLATE_ENV = 'PLATFORM_TEST_PGLITE_TEMPLATE';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Builds the platform (`nest build`, into dist/) unless dist/src/main.js is newer than every file
 * under src, libs, apps and migrations. Done here, once, before any suite starts: the suites that run
 * the built platform as production does (test/support/platform-process.ts) run in parallel workers,
 * and nest-cli.json's deleteOutDir would let one worker's build delete dist/ under another's process.
 */
function buildIfStale(): void {
  const entry = path.join(ROOT, 'dist/src/main.js');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
      const full = path.join(dir, e.name);
      return Math.max(max, e.isDirectory() ? newest(full) : statSync(full).mtimeMs);
    }, 0);
  const sources = Math.max(...['src', 'libs', 'apps', 'migrations'].map((d) => newest(path.join(ROOT, d))));
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
  process.stdout.write(
    '\n[e2e] dist/ is older than the sources: building the platform (nest build) for the suites that run it as a process\n',
  );
  mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
  execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * Runs once per `npm test`: builds dist/ when stale, builds this run's PGlite template and says which databases the e2e
 * suites use. Returns the teardown that removes the template.
 */
export default async function setup(): Promise<() => void> {
  const remote = process.env.PLATFORM_URL;
  if (remote) {
    process.stdout.write(
      `\n[e2e] PLATFORM_URL=${remote}: the remote-capable suites (test/e2e/remote: main flows of every app, access conformance) run against it, in tenants of their own.\n` +
        "[e2e] Skipped, as they need the platform's process (its logs, restarts, injected faults, database and Redis): every other suite and the unit tests. Run them with npm test.\n",
    );
    return () => undefined;
  }
  buildIfStale();
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
