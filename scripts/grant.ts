/**
 * Grants or revokes a platform role binding without SQL, in the database the platform is
 * configured with (same environment as the platform: DATABASE_URL, or DATA_DIR for the embedded
 * database, which must not be in use by a running platform). Running instances apply the change
 * within a second (NOTIFY).
 *
 *   npm run grant -- --subject <sub> --role <role> [--tenant <tenant>] [--revoke]
 *
 * Without --tenant the role is bound platform-wide, for a person without a tenant: only platform
 * roles (`platform-*`) may be. The role must exist in the policy (POLICY_FILE).
 * Each change is audited like the bootstrap's (`access.role_bound` / `access.role_unbound`, actor
 * `grant-cli`, details `reason: grant` and the operating-system user), written in the transaction
 * of the change (the audit outbox) and then chained; a record not chained now is chained by the
 * platform's next flush.
 * Exit code 0 on success (also when nothing changed), 1 for bad arguments, 2 when it could not run.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { and, eq } from 'drizzle-orm';
import { AuditRepository, auditOutbox, type NewAuditRow } from '@platform/audit';
import { ACCESS_CHANGED_CHANNEL, parsePolicy, roleBindings } from '@platform/auth';
import { parsePlatformConfig } from '@platform/config';
import { DATABASE_PASSWORD, DatabaseService } from '@platform/database';
import { PlatformMetrics } from '@platform/observability';
import { SecretsService } from '@platform/secrets';
import { isPlatformRole, PLATFORM_TENANT } from '../src/platform/role-bootstrap';
import { exitWithHelpIfAsked } from './lib/help';

exitWithHelpIfAsked(__filename);

Logger.overrideLogger(['error']);

class UsageError extends Error {}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        subject: { type: 'string' },
        role: { type: 'string' },
        tenant: { type: 'string' },
        revoke: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { subject, role, tenant, revoke } = values;
  if (!subject || !role)
    throw new UsageError('usage: npm run grant -- --subject <sub> --role <role> [--tenant <tenant>] [--revoke]');
  if (tenant === '') throw new UsageError('--tenant must not be empty (omit it for a platform role)');
  const config = parsePlatformConfig(process.env);
  const policy = parsePolicy(readFileSync(config.policyFile, 'utf8'), config.policyFile);
  if (!Object.hasOwn(policy.roles, role)) throw new UsageError(`role "${role}" is not defined in ${config.policyFile}`);
  if (tenant === undefined && !isPlatformRole(role))
    throw new UsageError(`role "${role}" is a tenant role: give --tenant (only platform-* roles are held without one)`);
  const embedded = path.join(config.dataDir, 'pglite');
  if (!config.databaseUrl && !existsSync(path.join(embedded, 'PG_VERSION')))
    throw new Error(`no embedded database at ${embedded} (set DATA_DIR to the platform's, or DATABASE_URL)`);
  const secrets = new SecretsService([DATABASE_PASSWORD], process.env, config, new PlatformMetrics());
  const database = new DatabaseService(config, () =>
    secrets.has(DATABASE_PASSWORD.name) ? secrets.get(DATABASE_PASSWORD.name) : undefined,
  );
  await database.open();
  try {
    const bindingTenant = tenant ?? PLATFORM_TENANT;
    const where = and(
      eq(roleBindings.tenant, bindingTenant),
      eq(roleBindings.subject, subject),
      eq(roleBindings.role, role),
    );
    // The change and its audit record commit together, or neither does.
    const changed = await database.db.transaction(async (tx) => {
      const rows = revoke
        ? await tx.delete(roleBindings).where(where).returning({ role: roleBindings.role })
        : await tx
            .insert(roleBindings)
            .values({ tenant: bindingTenant, subject, role, grantedBy: GRANTOR })
            .onConflictDoNothing()
            .returning({ role: roleBindings.role });
      if (rows.length)
        await tx.insert(auditOutbox).values({
          record: grantRecord(revoke ? 'access.role_unbound' : 'access.role_bound', {
            subject,
            tenant: tenant ?? null,
            role,
          }),
        });
      return rows;
    });
    // Into the hash chain now; if this fails the record waits in the outbox for the platform.
    if (changed.length)
      await new AuditRepository(database)
        .appendChained([], { timeoutMs: 5000, mayBeStored: false, outbox: 100 })
        .catch(() => undefined);
    if (changed.length) await database.notify(ACCESS_CHANGED_CHANNEL, 'changed');
    const scope = tenant === undefined ? 'platform-wide' : `in tenant ${tenant}`;
    process.stdout.write(
      `${revoke ? 'revoked' : 'granted'} ${role} ${scope} for ${subject}${changed.length ? '' : ' (no change: it already was)'}\n`,
    );
    return 0;
  } finally {
    await database.onApplicationShutdown();
    secrets.onModuleDestroy();
  }
}

const GRANTOR = 'grant-cli';

/** The audit event of one binding change, shaped like the bootstrap's (src/platform/role-bootstrap.ts). */
function grantRecord(event: string, binding: { subject: string; tenant: string | null; role: string }): NewAuditRow {
  let operator: string | null = null;
  try {
    operator = userInfo().username;
  } catch {
    // No passwd entry (some containers): the record still names the tool.
  }
  return {
    recordId: randomUUID(),
    kind: 'event',
    event,
    occurredAt: new Date(),
    requestId: `grant-${randomUUID()}`,
    method: 'GRANT',
    path: 'npm run grant',
    requiredPermissions: [],
    status: 200,
    durationMs: 0,
    subject: GRANTOR,
    tenant: binding.tenant,
    issuer: null,
    resourceId: binding.subject,
    details: { reason: 'grant', operator, ...binding },
  };
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`grant: ${err.message}\n`);
    process.exit(err instanceof UsageError ? 1 : 2);
  },
);
