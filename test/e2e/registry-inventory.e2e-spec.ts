import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Controller, Get, Module } from '@nestjs/common';
import { BILLING_APP } from '@apps/billing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequirePermissions } from '@platform/auth';
import { FEATURE_APPS } from '../../src/feature-apps';
import { TestPlatform } from '../support/test-platform';

/** A route that requires a permission its manifest does not declare. */
@Controller('typo')
class TypoController {
  @Get()
  @RequirePermissions('typo:things:read')
  read() {
    return {};
  }
}
@Module({ controllers: [TypoController] })
class TypoModule {}

describe('app registry, route inventory and the OpenAPI document', () => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    platform = await TestPlatform.start();
    for (const user of ['olivia', 'alice', 'bob']) tokens[user] = await platform.userToken(user);
  });
  afterAll(() => platform?.close());

  it('GET /platform/routes lists every route of the three apps with its permissions (platform operators only)', async () => {
    const response = await platform.request('GET', '/platform/routes', { token: tokens.olivia });
    expect(response.status).toBe(200);
    const byKey = new Map(
      response.body.items.map((r: { method: string; path: string }) => [`${r.method} ${r.path}`, r]),
    );
    expect(byKey.get('GET /billing/invoices/:id')).toEqual({
      method: 'GET',
      path: '/billing/invoices/:id',
      app: 'billing',
      public: false,
      permissions: ['billing:invoices:read'],
      policy: 'permissions',
      tenantScoped: true,
    });
    expect(byKey.get('POST /analytics/events')).toMatchObject({
      app: 'analytics',
      permissions: ['analytics:events:write'],
    });
    expect(byKey.get('GET /users/me')).toMatchObject({
      app: 'user-management',
      policy: 'authenticated',
      permissions: [],
    });
    expect(byKey.get('GET /health/live')).toMatchObject({ public: true, app: 'platform' });
    expect((await platform.request('GET', '/platform/routes', { token: tokens.alice })).status).toBe(403);
  });

  it('GET /platform/apps lists the enabled apps with team, permissions and machine scopes', async () => {
    const response = await platform.request('GET', '/platform/apps', { token: tokens.olivia });
    expect(response.status).toBe(200);
    const billing = response.body.items.find((a: { name: string }) => a.name === 'billing');
    expect(billing).toMatchObject({ prefix: '/billing', team: 'billing', scopes: BILLING_APP.scopes });
    expect(Object.keys(billing.permissions)).toEqual(Object.keys(BILLING_APP.permissions));
    expect(billing.permissions).toMatchObject({ 'billing:invoices:read': "Read the tenant's invoices" });
    // Every feature app (generated ones included), in registration order, then the platform.
    expect(response.body.items.map((a: { name: string }) => a.name)).toEqual([
      ...FEATURE_APPS.map((a) => a.manifest.name),
      'platform',
      'console',
    ]);
    expect(response.body.items.map((a: { name: string }) => a.name).slice(0, 3)).toEqual([
      'user-management',
      'billing',
      'analytics',
    ]);
  });

  it('olivia (no tenant) reads the audit trail of every tenant; alice only hers', async () => {
    const acme = await platform.request('GET', '/billing/invoices', { token: tokens.bob });
    await platform.auditOf(acme.requestId);
    const anonymous = await platform.request('GET', '/billing/invoices');
    await platform.auditOf(anonymous.requestId);
    const all = await platform.request('GET', '/platform/audit?limit=500', { token: tokens.olivia });
    expect(all.status).toBe(200);
    const ids = all.body.items.map((r: { requestId: string }) => r.requestId);
    expect(ids).toEqual(expect.arrayContaining([acme.requestId, anonymous.requestId]));
    const mine = await platform.request('GET', '/platform/audit?limit=500', { token: tokens.alice });
    expect(mine.body.items.map((r: { requestId: string }) => r.requestId)).not.toContain(anonymous.requestId);
  });

  it('serves the OpenAPI document with each route\u2019s security requirement, and Swagger UI', async () => {
    const document = await platform.request('GET', '/docs/openapi.json');
    expect(document.status).toBe(200);
    const read = document.body.paths['/billing/invoices/{id}'].get;
    // A bearer token, or signing in through the development provider from the page (docs-sign-in).
    expect(read.security).toEqual([{ bearer: [] }, { 'development-provider': ['openid'] }]);
    expect(read['x-required-permissions']).toEqual(['billing:invoices:read']);
    expect(document.body.paths['/health/live'].get.security).toBeUndefined();
    expect(document.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

    // Every operation is described, and request bodies and queries have their schemas.
    const undescribed = Object.entries(
      document.body.paths as Record<string, Record<string, { summary?: string }>>,
    ).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => !operation.summary)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(undescribed).toEqual([]);
    const createInvoice = document.body.paths['/billing/invoices'].post.requestBody.content['application/json'].schema;
    expect(createInvoice).toEqual({ $ref: '#/components/schemas/CreateInvoiceInput' });
    expect(document.body.components.schemas.CreateInvoiceInput).toMatchObject({
      required: ['customer', 'currency', 'lines'],
      properties: { currency: { description: expect.stringContaining('ISO 4217') } },
    });
    expect(document.body.paths['/platform/audit'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['subject', 'client', 'from', 'to', 'cursor']),
    );
    const ui = await platform.request('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(String(ui.body)).toContain('swagger');
    expect(await platform.auditOf(document.requestId)).toMatchObject({
      decision: null,
      reason: 'served_outside_guard',
      status: 200,
    });
  });
});

describe('start-up checks of the registry', () => {
  it('ENABLED_APPS serves only the named apps: a disabled app has no routes at all', async () => {
    const platform = await TestPlatform.start({ ENABLED_APPS: 'billing' });
    try {
      const bob = await platform.userToken('bob');
      expect((await platform.request('GET', '/billing/invoices', { token: bob })).status).toBe(200);
      const gone = await platform.request('GET', '/analytics/events/counts', { token: bob });
      expect(gone.status).toBe(404);
      expect(gone.body.reason).toBe('not_found');
      expect((await platform.request('GET', '/users/me', { token: bob })).status).toBe(404);
    } finally {
      await platform.close();
    }
  });

  it('an unknown app in ENABLED_APPS stops the start', async () => {
    await expect(TestPlatform.start({ ENABLED_APPS: 'billing,biling' })).rejects.toThrow(
      /ENABLED_APPS names unknown apps: biling/,
    );
  });

  it('a route requiring a permission no manifest declares stops the start, naming the route', async () => {
    const typo = {
      manifest: { name: 'typo', prefix: '/typo', team: 'qa', scopes: [], permissions: {} },
      module: TypoModule,
    };
    await expect(TestPlatform.start({}, 'pglite', [typo])).rejects.toThrow(
      /GET \/typo \(TypoController\.read\): requires "typo:things:read", which no app manifest declares/,
    );
  });

  it('a policy granting a permission no app declares stops the start, naming the line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'policy-'));
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(
      file,
      ['roles:', '  admin:', '    permissions:', '      - billing:invoices:read', '      - billing:invoice:read'].join(
        '\n',
      ),
    );
    await expect(TestPlatform.start({ POLICY_FILE: file })).rejects.toThrow(
      /line 5: "billing:invoice:read" grants no permission that an app declares/,
    );
  });
});
