import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarget, type PlatformTarget } from '../../support/platform-target';

/**
 * The main flow of every app, runnable against a deployed platform (PLATFORM_URL) or in-process.
 * Everything happens in two tenants of this run only, with test-profile people and service
 * accounts registered by the run: nothing depends on leftovers or seeded data.
 */
describe('main flows of every app (remote-capable)', () => {
  let target: PlatformTarget;
  let tenant: string;
  let otherTenant: string;
  const tokens: Record<'admin' | 'manager' | 'analyst' | 'nobody' | 'otherAdmin', string> = {
    admin: '',
    manager: '',
    analyst: '',
    nobody: '',
    otherAdmin: '',
  };
  const as = (
    who: keyof typeof tokens,
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ) => target.request(method, path, { token: tokens[who], ...options });

  beforeAll(async () => {
    target = await openTarget();
    tenant = target.newTenant();
    otherTenant = target.newTenant();
    tokens.admin = await target.profileToken(tenant, ['admin']);
    tokens.manager = await target.profileToken(tenant, ['billing-manager']);
    tokens.analyst = await target.profileToken(tenant, ['analyst']);
    tokens.nobody = await target.profileToken(tenant, []);
    tokens.otherAdmin = await target.profileToken(otherTenant, ['admin']);
  });
  afterAll(() => target?.close());

  it('platform: health answers without a token; a protected route without one is 401 problem+json', async () => {
    expect((await target.request('GET', '/health/live')).status).toBe(200);
    const anonymous = await target.request('GET', '/billing/invoices');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('billing: a billing manager creates, reads, lists and opens an invoice; another tenant gets 404; an analyst 403', async () => {
    const body = {
      customer: `Customer ${randomUUID()}`,
      currency: 'EUR',
      lines: [{ description: 'Seats', quantity: 3, unitAmount: 1250 }],
    };
    const created = await as('manager', 'POST', '/billing/invoices', { body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'draft', total: 3750, currency: 'EUR' });
    const id = created.body.id as string;
    expect((await as('manager', 'GET', `/billing/invoices/${id}`)).body).toMatchObject({ id, customer: body.customer });
    expect((await as('manager', 'GET', '/billing/invoices')).body.items.map((i: { id: string }) => i.id)).toEqual([id]);
    expect((await as('manager', 'POST', `/billing/invoices/${id}/open`)).body).toMatchObject({ status: 'open' });
    expect((await as('otherAdmin', 'GET', `/billing/invoices/${id}`)).status).toBe(404);
    expect((await as('otherAdmin', 'GET', '/billing/invoices')).body.items).toEqual([]);
    expect((await as('analyst', 'GET', `/billing/invoices/${id}`)).body).toMatchObject({
      status: 403,
      reason: 'insufficient_permission',
    });
  });

  it('analytics and service accounts: the admin registers a machine, it sends events, the analyst counts them', async () => {
    const registered = await as('admin', 'POST', '/service-accounts', {
      body: { name: 'e2e ingest', scopes: ['analytics:events:write'] },
    });
    expect(registered.status).toBe(201);
    expect(registered.body.clientId).toMatch(new RegExp(`^sa-${tenant}-`));
    const machine = await target.clientToken(registered.body.clientId, registered.body.clientSecret, [
      'analytics:events:write',
    ]);
    const name = `e2e-${randomUUID().slice(0, 8)}`;
    const sent = await target.request('POST', '/analytics/events', {
      token: machine,
      body: {
        events: [
          { name, timestamp: '2026-11-30T10:00:00Z', userId: 'u1' },
          { name, timestamp: '2026-11-30T10:05:00Z', userId: 'u2' },
        ],
      },
    });
    expect(sent.status).toBe(202);
    expect((await as('analyst', 'GET', `/analytics/events/counts?name=${name}`)).body.counts).toEqual([
      { name, count: 2, uniqueUsers: 2 },
    ]);
    expect((await as('otherAdmin', 'GET', `/analytics/events/counts?name=${name}`)).body.counts).toEqual([]);
    // The machine may only write: reading is insufficient_scope.
    expect((await target.request('GET', '/analytics/events/counts', { token: machine })).body).toMatchObject({
      status: 403,
      reason: 'insufficient_scope',
    });
    expect((await as('otherAdmin', 'GET', `/service-accounts/${registered.body.id}`)).status).toBe(404);
  });

  it("user management: people are provisioned from their tokens; the admin lists the tenant's users; no role, no access", async () => {
    const me = await as('analyst', 'GET', '/users/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenant });
    const users = await as('admin', 'GET', '/users');
    expect(users.status).toBe(200);
    expect(users.body.items.map((u: { id: string }) => u.id)).toContain(me.body.id);
    expect((await as('otherAdmin', 'GET', `/users/${me.body.id}`)).status).toBe(404);
    expect((await as('nobody', 'GET', '/users')).body).toMatchObject({
      status: 403,
      reason: 'insufficient_permission',
    });
  });
});
