import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditWriter } from '@platform/audit';
import { type NewAuditRow } from '@platform/audit/testing';
import { startDevOidcProvider } from '@platform/dev-idp';
import { GUARD_FIXTURES, SlowGate } from '../support/fixture-controllers';
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
    const app = await AuthTestApp.start({
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: 'api',
      OIDC_JWKS_REFETCH_INTERVAL_SECONDS: '60',
    });
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
    const platform = await TestPlatform.start({
      OIDC_ISSUER: 'http://127.0.0.1:9',
      OIDC_AUDIENCE: 'api',
      OIDC_HTTP_TIMEOUT_MS: '500',
    });
    try {
      const ready = await platform.request('GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        reason: 'not_ready',
        checks: { issuer: { status: 'down' }, database: { status: 'up' } },
      });
      expect((await platform.request('GET', '/health/live')).status).toBe(200);
      const response = await platform.request('GET', '/billing/invoices', {
        // A token of the configured (unreachable) issuer: tokens are matched to their issuer by iss first.
        token: issuer.sign({ iss: 'http://127.0.0.1:9', aud: 'api', sub: 's', tenant: 't' }),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await platform.auditOf(response.requestId)).toMatchObject({
        decision: 'deny',
        reason: 'issuer_unavailable',
        status: 503,
        details: expect.objectContaining({ issuer: 'http://127.0.0.1:9' }) as unknown,
      });
    } finally {
      await platform.close();
    }
  });

  it('graceful shutdown: every request in flight is answered, and each has exactly one audit row in the table', async () => {
    const platform = await TestPlatform.start(
      { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'api', AUDIT_FLUSH_INTERVAL_MS: '60000', AUDIT_BATCH_SIZE: '10000' },
      'pglite',
      [GUARD_FIXTURES],
    );
    SlowGate.reset();
    const inFlight = Array.from({ length: 40 }, () => platform.request('GET', '/fixtures/slow'));
    await SlowGate.arrivals(40);
    const closing = platform.running.close();
    SlowGate.release();
    const answered = await Promise.all(inFlight);
    await closing;
    expect(answered.map((r) => r.status)).toEqual(Array(40).fill(200));

    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(path.join(platform.running.config.dataDir, 'pglite'));
    try {
      const { rows } = await db.query<{ request_id: string }>('select request_id from audit_records');
      const written = rows.map((r) => r.request_id);
      for (const { requestId } of answered) expect(written.filter((w) => w === requestId)).toHaveLength(1);
    } finally {
      await db.close();
      await platform.close();
    }
  });

  it('a client that goes away before the answer still leaves exactly one audit record (499)', async () => {
    const platform = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'api' }, 'pglite', [
      GUARD_FIXTURES,
    ]);
    try {
      SlowGate.reset();
      const controller = new AbortController();
      const request = fetch(`${platform.url}/fixtures/slow`, { signal: controller.signal }).catch(() => 'aborted');
      await SlowGate.arrivals(1);
      controller.abort();
      expect(await request).toBe('aborted');
      const row = await new Promise<NewAuditRow>((resolve) => {
        const found = platform.audit.find((r) => r.path === '/fixtures/slow' && r.status === 499);
        if (found) return resolve(found);
        platform.running.app.get(AuditWriter).subscribe((r) => r.path === '/fixtures/slow' && resolve(r));
      });
      expect(row).toMatchObject({
        status: 499,
        errorReason: 'client_closed_request',
        decision: 'allow',
        reason: 'public_route',
      });
      expect(platform.audit.filter((r) => r.requestId === row.requestId)).toHaveLength(1);
    } finally {
      SlowGate.release();
      await platform.close();
    }
  });

  it('a client that leaves before a handler declaring a domain event succeeds: the event is still recorded', async () => {
    const platform = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'api' }, 'pglite', [
      GUARD_FIXTURES,
    ]);
    try {
      SlowGate.reset();
      const controller = new AbortController();
      const request = fetch(`${platform.url}/fixtures/slow/event`, { method: 'POST', signal: controller.signal }).catch(
        () => 'aborted',
      );
      const writer = platform.running.app.get(AuditWriter);
      const access = new Promise<NewAuditRow>((resolve) =>
        writer.subscribe((r) => r.path === '/fixtures/slow/event' && r.kind === 'access' && resolve(r)),
      );
      const event = new Promise<NewAuditRow>((resolve) => writer.subscribe((r) => r.kind === 'event' && resolve(r)));
      await SlowGate.arrivals(1);
      controller.abort();
      expect(await request).toBe('aborted');
      // The access record (499) is written when the connection closes, before the handler ends.
      expect(await access).toMatchObject({ status: 499 });
      SlowGate.release();
      const row = await event;
      expect(row).toMatchObject({ event: 'fixtures.slow.done', resourceId: 'slow-1', path: '/fixtures/slow/event' });
      expect(platform.audit.filter((r) => r.requestId === row.requestId).map((r) => [r.kind, r.status])).toEqual([
        ['access', 499],
        ['event', 499],
      ]);
    } finally {
      SlowGate.release();
      await platform.close();
    }
  });

  it('a malformed URL gets a problem body, a request id and one audit record', async () => {
    const platform = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'api' });
    try {
      const response = await platform.request('GET', '/billing/invoices/%E0%A4%A');
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ reason: 'malformed_url', status: 400 });
      expect(response.requestId).not.toBe('');
      expect(await platform.auditOf(response.requestId)).toMatchObject({
        status: 400,
        errorReason: 'malformed_url',
        decision: null,
      });
    } finally {
      await platform.close();
    }
  });

  it('refuses an embedded data folder that another live process holds', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'locked-'));
    mkdirSync(path.join(dataDir, 'pglite'));
    // The test runner's parent process is alive and is not this one.
    writeFileSync(path.join(dataDir, 'pglite.lock'), String(process.ppid));
    await expect(
      TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'api', DATA_DIR: dataDir }),
    ).rejects.toThrow(new RegExp(`in use by process ${process.ppid}: give each instance its own DATA_DIR`));
  });

  it('never takes over a data folder locked from another host (a volume shared between containers)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'locked-'));
    mkdirSync(path.join(dataDir, 'pglite'));
    writeFileSync(path.join(dataDir, 'pglite.lock'), '1@another-host');
    await expect(
      TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: 'api', DATA_DIR: dataDir }),
    ).rejects.toThrow(/in use by process 1 on host another-host/);
  });

  it('the development provider refuses to start in production', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await expect(startDevOidcProvider({ port: 0, audience: 'urn:platform:api', dataDir: '/tmp' })).rejects.toThrow(
        /refuses to start/,
      );
    } finally {
      process.env.NODE_ENV = previous;
    }
  });
});
