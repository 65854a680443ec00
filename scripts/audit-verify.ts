/**
 * Checks the audit trail's hash chain in the database the platform is configured with (the same
 * environment: DATABASE_URL, or DATA_DIR for the embedded database, which must not be in use by a
 * running platform).
 *
 *   npm run audit:verify
 *
 * Exit code 0 when every chained record holds; 1 naming the first broken link (database id and
 * record id) when a record was changed or removed; 2 when the check could not run.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { AuditChainVerifier, AuditRepository } from '@platform/audit';
import { parsePlatformConfig } from '@platform/config';
import { DATABASE_PASSWORD, DatabaseService } from '@platform/database';
import { PlatformMetrics } from '@platform/observability';
import { SecretsService } from '@platform/secrets';
import { Logger } from '@nestjs/common';
import { exitWithHelpIfAsked } from './lib/help';

exitWithHelpIfAsked(__filename);

// Only this script's own lines on stdout.
Logger.overrideLogger(['error']);

const PAGE = 1000;

async function main(): Promise<number> {
  // The platform's own configuration, so the check reads the database the platform writes.
  const config = parsePlatformConfig(process.env);
  // A mistyped DATA_DIR must not pass as "0 records checked": never create the database here.
  const embedded = path.join(config.dataDir, 'pglite');
  if (!config.databaseUrl && !existsSync(path.join(embedded, 'PG_VERSION'))) {
    throw new Error(`no embedded database at ${embedded} (set DATA_DIR to the platform's, or DATABASE_URL)`);
  }
  // The same password source as the platform (the `database-password` secret, when given).
  const secrets = new SecretsService([DATABASE_PASSWORD], process.env, config, new PlatformMetrics());
  const database = new DatabaseService(config, () =>
    secrets.has(DATABASE_PASSWORD.name) ? secrets.get(DATABASE_PASSWORD.name) : undefined,
  );
  await database.open().catch((err: Error) => {
    throw /in use by process/.test(err.message)
      ? new Error(
          `${err.message.split(':')[0]}: stop the platform first (the embedded database belongs to one process), or run against DATABASE_URL`,
        )
      : err;
  });
  try {
    const repository = new AuditRepository(database);
    const verifier = new AuditChainVerifier();
    let afterId = 0;
    for (;;) {
      const rows = await repository.ascendingPage(afterId, PAGE);
      if (rows.length === 0) break;
      const broken = verifier.check(rows);
      if (broken) {
        process.stdout.write(
          `audit chain BROKEN at record id=${broken.id} (record_id ${broken.recordId}): ${broken.problem.replace(/_/g, ' ')}; ${verifier.checked} records before it hold\n`,
        );
        return 1;
      }
      afterId = rows[rows.length - 1].id;
    }
    const legacy = verifier.skipped ? ` (${verifier.skipped} older records predate the chain)` : '';
    process.stdout.write(`audit chain intact: ${verifier.checked} records checked${legacy}\n`);
    return 0;
  } finally {
    await database.onApplicationShutdown();
    secrets.onModuleDestroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`audit:verify: ${err.message}\n`);
    process.exit(2);
  },
);
