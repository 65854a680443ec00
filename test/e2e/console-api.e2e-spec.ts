import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditWriter } from '@platform/audit';
import { availableDatabases, TestPlatform } from '../support/test-platform';

/** The console's page and the read-only endpoints it adds, over HTTP with real tokens (no browser). */
describe.each(availableDatabases())('console endpoints on %s', (database) => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  const as = (user: string, path: string) => platform.request('GET', path, { token: tokens[user] });
  let carolDenial: string;

  beforeAll(async () => {
    // Reads of the trail must not force writes: records are in the table at the response.
    platform = await TestPlatform.start({ AUDIT_DURABILITY: 'before-response' }, database);
    for (const user of ['alice', 'carol', 'dave', 'olivia']) tokens[user] = await platform.userToken(user);
    const refused = await as('carol', '/billing/invoices');
    expect(refused.status).toBe(403);
    carolDenial = refused.requestId;
    expect((await as('dave', '/billing/plans/not-a-plan/archive')).status).toBeGreaterThanOrEqual(400);
    await platform.flushAudit();
  });
  afterAll(() => platform?.close());

  it('serves the page, its settings and only its own files, public, with the console CSP', async () => {
    const settings = await platform.request('GET', '/console/settings.json');
    expect(settings.body).toEqual({
      issuer: platform.issuer,
      clientId: 'platform-console',
      audience: platform.audience,
    });
    expect(settings.headers.get('content-security-policy')).toContain("default-src 'none'");
    const missing = await platform.request('GET', '/console/assets/js/missing.js');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 404, reason: 'console_asset_not_found' });
    expect((await platform.request('GET', '/console/assets/..%2F..%2Fconsole.controller.ts')).status).toBe(404);
  });

  it('GET /platform/access-map resolves each route for each role and scope, with the grant path', async () => {
    const map = (await as('alice', '/platform/access-map')).body;
    const invoices = map.routes.find(
      (r: { method: string; path: string }) => r.method === 'GET' && r.path === '/billing/invoices',
    );
    expect(invoices.permissions).toEqual(['billing:invoices:read']);
    expect(invoices.roles.analyst).toEqual({ allowed: false, grants: [], missing: ['billing:invoices:read'] });
    expect(invoices.roles.admin).toEqual({
      allowed: true,
      grants: [{ permission: 'billing:invoices:read', role: 'admin', pattern: 'billing:invoices:*' }],
      missing: [],
    });
    expect(invoices.scopes['billing:invoices:read'].allowed).toBe(true);
    expect(invoices.scopes['analytics:events:read'].allowed).toBe(false);
    const health = map.routes.find((r: { path: string }) => r.path === '/health/live');
    expect(health.roles.analyst.allowed).toBe(true);
    expect(map.roles.map((r: { name: string }) => r.name)).toEqual([
      'admin',
      'analyst',
      'billing-manager',
      'platform-operator',
    ]);
    expect((await as('olivia', '/platform/access-map')).status).toBe(200);
    expect((await as('carol', '/platform/access-map')).body).toMatchObject({
      status: 403,
      reason: 'insufficient_permission',
    });
  });

  it('GET /platform/access-map agrees, cell for cell, with the committed access-map.json (one resolver: src/access-map)', async () => {
    type Row = {
      method: string;
      path: string;
      roles: Record<string, { allowed: boolean }>;
      scopes: Record<string, { allowed: boolean }>;
    };
    type Committed = { routes: { method: string; path: string; roles: string[]; scopes: string[] }[] };
    const committed = JSON.parse(readFileSync(path.join(__dirname, '../../access-map.json'), 'utf8')) as Committed;
    const served = (await as('alice', '/platform/access-map')).body as { routes: Row[] };
    const holders = (cells: Record<string, { allowed: boolean }>) =>
      Object.keys(cells).filter((name) => cells[name].allowed);
    const expand = (names: string[], all: string[]) => (names.includes('*') ? all : names);
    const view = (rows: { method: string; path: string; roles: string[]; scopes: string[] }[]) =>
      rows.map((r) => `${r.method} ${r.path} roles=${r.roles.join(',')} scopes=${r.scopes.join(',')}`).sort();
    const roleNames = Object.keys(served.routes[0].roles);
    const scopeNames = Object.keys(served.routes[0].scopes);
    expect(served.routes.length).toBeGreaterThan(20);
    expect(view(served.routes.map((r) => ({ ...r, roles: holders(r.roles), scopes: holders(r.scopes) })))).toEqual(
      view(
        committed.routes.map((r) => ({
          ...r,
          roles: expand(r.roles, roleNames),
          scopes: expand(r.scopes, scopeNames),
        })),
      ),
    );
  });

  it('GET /platform/me tells what the policy grants the caller', async () => {
    const carol = (await as('carol', '/platform/me')).body;
    expect(carol).toMatchObject({ subject: 'carol', type: 'user', tenant: 'acme', roles: ['analyst'] });
    expect(carol.permissions).toEqual(['analytics:events:read']);
    const olivia = (await as('olivia', '/platform/me')).body;
    expect(olivia.tenant).toBeNull();
    expect(olivia.permissions).toContain('platform:audit:read-all');
    expect((await platform.request('GET', '/platform/me')).status).toBe(401);
  });

  it('GET /platform/audit/refusals groups denials of the caller tenant over time; operators see every tenant', async () => {
    const byRoute = (await as('alice', '/platform/audit/refusals?groupBy=route&buckets=4')).body;
    expect(byRoute.bucketMs).toBe(6 * 3600 * 1000);
    // (Earlier tests of this file add carol's refusals of other routes.)
    expect(byRoute.groups).toContainEqual({ key: 'GET /billing/invoices', total: 1, series: [0, 0, 0, 1], rise: 1 });
    const byReason = (await as('alice', '/platform/audit/refusals?groupBy=reason')).body;
    expect(byReason.groups.map((g: { key: string }) => g.key)).toEqual(['insufficient_permission']);
    const byType = (await as('alice', '/platform/audit/refusals?groupBy=principalType')).body;
    expect(byType.groups.map((g: { key: string }) => g.key)).toEqual(['user']);
    // Another tenant's refusals stay out of sight.
    expect(
      (await as('dave', '/platform/audit/refusals?groupBy=subject')).body.groups.map((g: { key: string }) => g.key),
    ).not.toContain('carol');
    expect((await as('dave', '/platform/audit/refusals?tenant=acme')).body).toMatchObject({
      status: 403,
      reason: 'insufficient_permission',
    });
    expect(
      (await as('olivia', '/platform/audit/refusals?groupBy=subject&tenant=acme')).body.groups.map(
        (g: { key: string }) => g.key,
      ),
    ).toEqual(['carol']);
    expect((await as('carol', '/platform/audit/refusals')).status).toBe(403);
  });

  it('GET /platform/audit/refusals/records opens a group', async () => {
    const records = (
      await as('alice', '/platform/audit/refusals/records?groupBy=route&key=GET%20%2Fbilling%2Finvoices')
    ).body.items;
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      subject: 'carol',
      decision: 'deny',
      reason: 'insufficient_permission',
      requestId: carolDenial,
    });
    expect(
      (await as('dave', '/platform/audit/refusals/records?groupBy=route&key=GET%20%2Fbilling%2Finvoices')).body.items,
    ).toEqual([]);
  });

  it('reads of the trail never force an audit write: with before-response durability the records are already in the table', async () => {
    const writer = platform.running.app.get(AuditWriter);
    // The writer flushes for every durable record itself; only flushes the controller asks for count.
    const fromController: string[] = [];
    const original = writer.flush.bind(writer);
    const flush = vi.spyOn(writer, 'flush').mockImplementation(() => {
      const stack = new Error().stack ?? '';
      if (stack.includes('RefusalsController')) fromController.push(stack);
      return original();
    });
    try {
      const refused = await as('carol', '/billing/invoices');
      expect(refused.status).toBe(403);
      const [row] = (await as('alice', `/platform/audit?requestId=${refused.requestId}`)).body.items;
      for (const path of [
        '/platform/audit/refusals?groupBy=subject',
        '/platform/audit/refusals/records?groupBy=subject&key=carol',
        `/platform/audit/records/${row.id}`,
      ]) {
        expect((await as('alice', path)).status, path).toBe(200);
      }
      expect(
        (await as('alice', '/platform/audit/refusals/records?groupBy=subject&key=carol')).body.items[0].requestId,
      ).toBe(refused.requestId);
      expect(flush).toHaveBeenCalled();
      expect(fromController).toEqual([]);
    } finally {
      flush.mockRestore();
    }
  });

  it('refuses bad queries with 400 problems', async () => {
    for (const query of [
      'groupBy=role',
      'buckets=1',
      'buckets=97',
      'from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z',
      'from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z',
      'from=yesterday',
    ]) {
      const response = await as('alice', `/platform/audit/refusals?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await as('alice', '/platform/audit/refusals/records?groupBy=route')).status).toBe(400);
  });

  it('GET /platform/audit/records/:id gives one record of the tenant with its chain status', async () => {
    const [row] = (await as('alice', `/platform/audit?requestId=${carolDenial}`)).body.items;
    const detail = await as('alice', `/platform/audit/records/${row.id}`);
    expect(detail.body.record).toMatchObject({ id: row.id, subject: 'carol', requestId: carolDenial });
    expect(detail.body.chain).toEqual({ status: 'verified', hashMatches: true, linkMatches: true });
    expect((await as('dave', `/platform/audit/records/${row.id}`)).body).toMatchObject({
      status: 404,
      reason: 'audit_record_not_found',
    });
    expect((await as('olivia', `/platform/audit/records/${row.id}`)).status).toBe(200);
    expect((await as('alice', '/platform/audit/records/abc')).body).toMatchObject({
      status: 400,
      reason: 'invalid_record_id',
    });
    expect((await as('alice', '/platform/audit/records/9999999999999999')).status).toBe(404);
  });
});
