import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevOidcProvider } from '@platform/dev-idp';
import { AuthTestApp } from '../support/auth-test-app';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

describe('operations', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
  });
  afterAll(() => issuer?.close());

  it('unknown kids cause at most one JWKS refetch per interval (no refetch storm)', async () => {
    const app = await AuthTestApp.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'api', OIDC_JWKS_REFETCH_INTERVAL_SECONDS: '60' });
    try {
      const ok = await app.call('GET', '/whoami', issuer.sign({ aud: 'api', sub: 's' }));
      expect(ok.status).toBe(200);
      const before = issuer.jwksFetches;
      for (const kid of ['x1', 'x2', 'x3', 'x4']) {
        const response = await app.call('GET', '/whoami', issuer.sign({ aud: 'api', sub: 's' }, { header: { kid } }));
        expect(response.body.reason).toBe('unknown_kid');
      }
      expect(issuer.jwksFetches - before).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('an unreachable issuer: the platform still boots, is not ready (503), and token requests get 503, never 500', async () => {
    const platform = await TestPlatform.start({ OIDC_ISSUER: 'http://127.0.0.1:9', OIDC_AUDIENCE: 'api', OIDC_HTTP_TIMEOUT_MS: '500' });
    try {
      const ready = await platform.request('GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ reason: 'not_ready', checks: { issuer: { status: 'down' }, database: { status: 'up' } } });
      expect((await platform.request('GET', '/health/live')).status).toBe(200);
      const response = await platform.request('GET', '/billing/invoices', { token: issuer.sign({ aud: 'api', sub: 's', tenant: 't' }) });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await platform.auditOf(response.requestId)).toMatchObject({ decision: 'deny', reason: 'issuer_unavailable', status: 503 });
    } finally {
      await platform.close();
    }
  });

  it('graceful shutdown: requests in flight are answered and every one of them is in the audit table', async () => {
    const platform = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'api', AUDIT_FLUSH_INTERVAL_MS: '60000', AUDIT_BATCH_SIZE: '10000' });
    const token = issuer.sign({ aud: 'api', sub: 'u', tenant: 't', roles: ['admin'] });
    const inFlight = Array.from({ length: 40 }, (_, i) => platform.request('GET', i % 2 ? '/billing/invoices' : '/users/me', { token }).catch(() => undefined));
    await Promise.all(inFlight.slice(0, 5));
    const closing = platform.running.close();
    const answered = (await Promise.all(inFlight)).filter((r) => r !== undefined && r.status > 0);
    await closing;

    const { PGlite } = await import('@electric-sql/pglite');
    const dataDir = path.join(platform.running.config.dataDir, 'pglite');
    expect(existsSync(dataDir)).toBe(true);
    const db = await PGlite.create(dataDir);
    try {
      const ids = answered.map((r) => r!.requestId);
      const { rows } = await db.query<{ request_id: string }>('select request_id from audit_records');
      const written = rows.map((r) => r.request_id);
      expect(answered.length).toBeGreaterThanOrEqual(5);
      for (const id of ids) expect(written.filter((w) => w === id)).toHaveLength(1);
    } finally {
      await db.close();
      await platform.close();
    }
  });

  it('the development provider refuses to start in production', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await expect(startDevOidcProvider({ port: 0, audience: 'urn:platform:api', dataDir: '/tmp' })).rejects.toThrow(/refuses to start/);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });
});
