import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessStateService } from '@platform/auth';
import { AuditWriter } from '@platform/audit';
import { RoleBootstrap } from '../../src/platform/role-bootstrap';
import { sql } from 'drizzle-orm';
import { parsePlatformConfig } from '@platform/config';
import { DatabaseService } from '@platform/database';
import { auditTable, runAuditVerify } from '../support/audit-table';
import { PGLITE_TEMPLATE_ENV } from '../support/global-setup';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

const ROOT = path.resolve(__dirname, '../..');

/** Runs `npm run grant -- ...` against a platform's embedded database, as an operator would. */
function runGrant(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    POLICY_FILE: path.join(ROOT, 'config/policy.yaml'),
  };
  delete env.DATABASE_URL;
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', 'grant', '--', ...args], { cwd: ROOT, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Bootstrap without SQL (issue 16 item 4): the first tenant admin and a platform operator with no
 * tenant, named in PLATFORM_BOOTSTRAP, are bound at start, audited as bootstrap, idempotent and
 * removable; `npm run grant` does the same from a shell.
 */
describe('bootstrap role bindings', () => {
  let issuer: TestIssuer;
  let platform: TestPlatform;
  const AUD = 'platform-api';
  const token = (sub: string, claims: Record<string, unknown> = {}) => issuer.sign({ aud: AUD, sub, ...claims });
  const grants = [
    { subject: 'first-admin', tenant: 'acme', roles: ['admin'] },
    { subject: 'ops-1', roles: ['platform-operator'] },
  ];

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    platform = await TestPlatform.start({
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      PLATFORM_BOOTSTRAP: JSON.stringify({ grants }),
    });
  });
  afterAll(async () => {
    await platform?.close();
    await issuer?.close();
  });

  it('a bootstrapped tenant admin administers the tenant; a person without a tenant is a platform operator', async () => {
    expect((await platform.request('GET', '/users', { token: token('first-admin', { tenant: 'acme' }) })).status).toBe(
      200,
    );
    expect((await platform.request('GET', '/users', { token: token('somebody', { tenant: 'acme' }) })).status).toBe(
      403,
    );
    // The admin binding is for acme only.
    expect(
      (await platform.request('GET', '/users', { token: token('first-admin', { tenant: 'globex' }) })).status,
    ).toBe(403);
    expect((await platform.request('GET', '/platform/apps', { token: token('ops-1') })).status).toBe(200);
    expect((await platform.request('GET', '/platform/apps', { token: token('ops-2') })).status).toBe(403);
  });

  it('each binding is an audit event of the bootstrap', async () => {
    await platform.running.app.get(AuditWriter).flush();
    const events = (await auditTable(platform)).filter((r) => r.event === 'access.role_bound');
    expect(events).toHaveLength(2);
    expect(events.every((r) => r.request_id.startsWith('bootstrap-'))).toBe(true);
  });

  it('applying the same document again changes nothing; a grant dropped from it is removed', async () => {
    const bootstrap = platform.running.app.get(RoleBootstrap);
    expect(await bootstrap.apply(grants, 'test')).toEqual({ bound: 0, unbound: 0 });
    expect(await bootstrap.apply([grants[0]], 'test')).toEqual({ bound: 0, unbound: 1 });
    expect(platform.running.app.get(AccessStateService).rolesOf(null, 'ops-1')).toEqual([]);
    expect((await platform.request('GET', '/platform/apps', { token: token('ops-1') })).status).toBe(403);
    await platform.running.app.get(AuditWriter).flush();
    expect((await auditTable(platform)).filter((r) => r.event === 'access.role_unbound')).toHaveLength(1);
  });

  it('an invalid bootstrap stops the start, naming the problem', async () => {
    await expect(
      TestPlatform.start({
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: AUD,
        PLATFORM_BOOTSTRAP: 'grants:\n  - { subject: x, roles: [admin] }',
      }),
    ).rejects.toThrow('role "admin" is a tenant role');
  });

  it('npm run grant binds and revokes without SQL, refusing unknown roles and tenant roles without a tenant', async () => {
    // A migrated embedded database of its own (one process at a time may open it).
    const dataDir = mkdtempSync(path.join(tmpdir(), 'grant-cli-'));
    cpSync(process.env[PGLITE_TEMPLATE_ENV] as string, dataDir, { recursive: true });
    try {
      const unknown = await runGrant(dataDir, ['--subject', 'x', '--role', 'owner', '--tenant', 'acme']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('role "owner" is not defined');
      const tenantRole = await runGrant(dataDir, ['--subject', 'x', '--role', 'admin']);
      expect(tenantRole.code).toBe(1);
      expect(tenantRole.stderr).toContain('give --tenant');
      const granted = await runGrant(dataDir, ['--subject', 'ops-9', '--role', 'platform-operator']);
      expect(granted.stderr).toBe('');
      expect(granted.stdout).toBe('granted platform-operator platform-wide for ops-9\n');
      expect(granted.code).toBe(0);
      const revoked = await runGrant(dataDir, ['--subject', 'ops-9', '--role', 'platform-operator', '--revoke']);
      expect(revoked.stdout).toBe('revoked platform-operator platform-wide for ops-9\n');
      // Each change is audited like the bootstrap's, in the hash chain (no platform running to move it).
      const database = new DatabaseService(
        parsePlatformConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }),
        () => undefined,
      );
      await database.open();
      try {
        type EventRow = {
          event: string;
          subject: string;
          tenant: string | null;
          resource_id: string;
          details: Record<string, unknown>;
          hash: string | null;
        };
        const rows = (await database.db.execute<EventRow>(
          sql`select event, subject, tenant, resource_id, details, hash from audit_records where kind = 'event' order by id`,
        )) as { rows: EventRow[] };
        expect(rows.rows.map(({ hash, ...row }) => ({ ...row, chained: hash !== null }))).toEqual([
          {
            event: 'access.role_bound',
            subject: 'grant-cli',
            tenant: null,
            resource_id: 'ops-9',
            details: expect.objectContaining({
              reason: 'grant',
              subject: 'ops-9',
              tenant: null,
              role: 'platform-operator',
            }),
            chained: true,
          },
          {
            event: 'access.role_unbound',
            subject: 'grant-cli',
            tenant: null,
            resource_id: 'ops-9',
            details: expect.objectContaining({
              reason: 'grant',
              subject: 'ops-9',
              tenant: null,
              role: 'platform-operator',
            }),
            chained: true,
          },
        ]);
        const outbox = (await database.db.execute<{ n: number }>(sql`select count(*)::int as n from audit_outbox`)) as {
          rows: Array<{ n: number }>;
        };
        expect(outbox.rows[0].n).toBe(0);
      } finally {
        await database.onApplicationShutdown();
      }
      expect((await runAuditVerify({ dataDir })).stdout).toContain('audit chain intact');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
