import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALIDATION_OPTIONS } from '@platform/http/testing';
import { GUARD_FIXTURES, UNGUARDED_FIXTURE } from '../support/fixture-controllers';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

/** Pitfalls C08 (guards vs audit), C09 (metadata precedence), C23 (log redaction), C25 (validation). */
describe('guards, audit completeness, log redaction and validation', () => {
  let issuer: TestIssuer;
  let platform: TestPlatform;
  const AUD = 'platform-api';
  const token = (roles: string[], claims: Record<string, unknown> = {}) =>
    issuer.sign({ aud: AUD, sub: `u-${roles.join('-') || 'none'}`, tenant: 't1', roles, ...claims });

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    platform = await TestPlatform.start(
      {
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: AUD,
        POLICY_FILE: path.resolve(__dirname, '../fixtures/policy.guards.yaml'),
      },
      'pglite',
      [GUARD_FIXTURES, UNGUARDED_FIXTURE],
      true,
    );
  });
  afterAll(async () => {
    await platform?.close();
    await issuer?.close();
  });

  describe('C08: every decision is audited exactly once, guard denials included', () => {
    it('(a) no token: 401 and one deny/missing_token record', async () => {
      const response = await platform.request('GET', '/fixtures/users/admin/export');
      expect(response.status).toBe(401);
      expect(await platform.auditCount(response.requestId)).toBe(1);
      expect(await platform.auditOf(response.requestId)).toMatchObject({ decision: 'deny', reason: 'missing_token' });
    });

    it('(b) wrong role: 403 and one deny record listing the required permission', async () => {
      const response = await platform.request('GET', '/fixtures/users/admin/export', { token: token(['user']) });
      expect(response.status).toBe(403);
      expect(await platform.auditCount(response.requestId)).toBe(1);
      expect(await platform.auditOf(response.requestId)).toMatchObject({
        decision: 'deny',
        reason: 'insufficient_permission',
        requiredPermissions: ['users:admin:manage'],
      });
    });

    it('(c) a failing handler: generic 500, one allow record, one error log without internals', async () => {
      const response = await platform.request('GET', '/fixtures/users/admin/boom', { token: token(['admin']) });
      expect(response.status).toBe(500);
      expect(response.body).toMatchObject({ status: 500, reason: 'internal_error' });
      expect(JSON.stringify(response.body)).not.toContain('boom');
      expect(await platform.auditCount(response.requestId)).toBe(1);
      expect(await platform.auditOf(response.requestId)).toMatchObject({
        decision: 'allow',
        status: 500,
        errorReason: 'internal_error',
      });
      const errors = platform.logLines().filter((l) => l.requestId === response.requestId && l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0].err).toEqual({ type: 'Error', message: 'boom' });
      expect(JSON.stringify(errors[0])).not.toMatch(/\bat .*:\d+:\d+|stack/);
    });

    it('(d) an unreadable body: 400, one access record, no authorization decision', async () => {
      const response = await platform.request('POST', '/analytics/events', {
        rawBody: '{bad json',
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(400);
      expect(response.body.reason).toBe('malformed_body');
      expect(await platform.auditCount(response.requestId)).toBe(1);
      expect(await platform.auditOf(response.requestId)).toMatchObject({
        decision: null,
        reason: 'rejected_before_authorization',
        status: 400,
      });
    });
  });

  describe('C09: class and handler metadata; the handler decorator wins', () => {
    it.each([
      ['class requirement applies to an undecorated handler', '/fixtures/users/admin/export', ['user'], 403],
      ['handler requirement overrides the class one', '/fixtures/users/admin/lookup', ['support'], 200],
      ['a public class', '/fixtures/health', undefined, 200],
      ['a public handler', '/fixtures/billing/pricing', undefined, 200],
      ['@Public on a sibling does not leak', '/fixtures/billing/invoices', undefined, 401],
      ['a route without any policy is closed (deny by default)', '/fixtures/unguarded/forgotten', ['admin'], 403],
    ])('%s', async (_name, pathname, roles, status) => {
      const response = await platform.request('GET', pathname, roles ? { token: token(roles) } : {});
      expect(response.status).toBe(status);
      const audit = await platform.auditOf(response.requestId);
      if (pathname.endsWith('forgotten')) expect(audit.reason).toBe('no_policy');
      if (status === 200 && roles === undefined)
        expect(audit).toMatchObject({
          decision: 'allow',
          reason: 'public_route',
          subject: null,
          requiredPermissions: [],
        });
    });

    it('documented: public routes ignore any token, even an expired one, the same way everywhere', async () => {
      const expired = token(['admin'], { exp: Math.floor(Date.now() / 1000) - 3600 });
      for (const pathname of ['/fixtures/billing/pricing', '/fixtures/health', '/health/live']) {
        const response = await platform.request('GET', pathname, { token: expired });
        expect(response.status).toBe(200);
        expect((await platform.auditOf(response.requestId)).principalType).toBeNull();
      }
    });
  });

  it('the platform refuses to start with a route that declares no policy, and names it', async () => {
    await expect(
      TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD }, 'pglite', [UNGUARDED_FIXTURE]),
    ).rejects.toThrow(
      /Routes without a valid access policy[\s\S]*GET \/fixtures\/unguarded\/forgotten \(UnguardedFixture\.forgotten\): no access policy/,
    );
  });

  it('every route of the three apps and the platform declares a policy', async () => {
    const { RouteInventory } = await import('@platform/auth');
    const routes = platform.running.app.get(RouteInventory).routes();
    const product = routes.filter((r) => !r.path.startsWith('/fixtures'));
    expect(product.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'GET /billing/invoices',
        'POST /billing/invoices',
        'GET /billing/invoices/:id',
        'POST /analytics/events',
        'GET /analytics/events/counts',
        'GET /users/me',
        'GET /users',
        'GET /platform/audit',
        'GET /health/live',
        'GET /health/ready',
      ]),
    );
    expect(product.every((r) => r.policy !== undefined)).toBe(true);
  });

  describe('C25: validation is never skipped', () => {
    const writer = () => token(['writer']);

    it('the global pipe runs with whitelist, forbidNonWhitelisted, forbidUnknownValues and transform', () => {
      expect(VALIDATION_OPTIONS).toMatchObject({
        whitelist: true,
        forbidNonWhitelisted: true,
        forbidUnknownValues: true,
        transform: true,
      });
    });

    it('(a) nested items are validated, errors name the field path, never the value; the request is audited allow', async () => {
      const response = await platform.request('POST', '/analytics/events', {
        token: writer(),
        body: {
          events: [
            { name: 'click', ts: 'not-a-date', props: {} },
            { name: 'click', timestamp: 'not-a-date' },
          ],
        },
      });
      expect(response.status).toBe(400);
      const paths = response.body.errors.map((e: { path: string }) => e.path);
      expect(paths).toEqual(
        expect.arrayContaining(['events.0.ts', 'events.0.props', 'events.0.timestamp', 'events.1.timestamp']),
      );
      expect(JSON.stringify(response.body)).not.toContain('not-a-date');
      expect(await platform.auditOf(response.requestId)).toMatchObject({
        decision: 'allow',
        status: 400,
        errorReason: 'validation_failed',
      });
    });

    it('(b) an object where an array belongs is 400', async () => {
      const response = await platform.request('POST', '/analytics/events', {
        token: writer(),
        body: { events: { name: 'click' } },
      });
      expect(response.status).toBe(400);
      expect(response.body.errors.map((e: { path: string }) => e.path)).toContain('events');
    });

    it.each([['[]'], ['"x"'], ['null'], ['42']])('(c) a body that is not an object (%s) is 400', async (raw) => {
      const response = await platform.request('POST', '/billing/invoices', {
        token: writer(),
        rawBody: raw,
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    });

    it('(d) __proto__ in the body is refused', async () => {
      const response = await platform.request('POST', '/billing/invoices', {
        token: writer(),
        rawBody: '{"__proto__":{},"customer":123,"currency":"abc"}',
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(400);
    });

    it('(e) more than 1000 events is 400; a body over the size limit is 413; nothing is written', async () => {
      const event = { name: 'bulk', timestamp: '2026-11-30T00:00:00Z' };
      const many = await platform.request('POST', '/analytics/events', {
        token: writer(),
        body: { events: Array.from({ length: 1001 }, () => event) },
      });
      expect(many.status).toBe(400);
      const huge = await platform.request('POST', '/analytics/events', {
        token: writer(),
        body: { events: Array.from({ length: 50_000 }, () => event) },
      });
      expect(huge.status).toBe(413);
      expect(huge.body.reason).toBe('body_too_large');
      const { DatabaseService } = await import('@platform/database');
      const { sql } = await import('drizzle-orm');
      const rows = await platform.running.app
        .get(DatabaseService)
        .db.execute(sql`select count(*)::int as n from analytics_events where name = 'bulk'`);
      expect((rows as { rows: { n: number }[] }).rows[0].n).toBe(0);
    });
  });

  describe('C23: no credential reaches a log line', () => {
    it('tokens, cookies, API keys, card data and query-string tokens never appear in any log output', async () => {
      const valid = token(['writer']);
      const expired = token(['writer'], { exp: Math.floor(Date.now() / 1000) - 3600 });
      const secretHeaders = { cookie: 'sid=s3cr3t', 'x-api-key': 'k-123', 'idempotency-key': 'K1' };
      const body = { invoiceId: 'inv_1', card: { number: '4242424242424242', cvc: '123' } };
      await platform.request('POST', '/billing/invoices', { token: valid, headers: secretHeaders, body });
      await platform.request('POST', '/billing/invoices', { token: expired, headers: secretHeaders, body });
      await platform.request('GET', `/billing/invoices?access_token=${valid}`);
      const last = await platform.request('GET', '/fixtures/users/admin/boom', {
        token: token(['admin']),
        headers: secretHeaders,
      });
      await platform.auditOf(last.requestId);
      const logs = platform.logs.join('');
      expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./);
      for (const secret of ['s3cr3t', 'k-123', '4242424242424242', '"cvc"']) expect(logs).not.toContain(secret);
    });
  });
});
