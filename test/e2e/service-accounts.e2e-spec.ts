import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserProvisioner } from '@apps/user-management';
import { clientCredentialsToken } from '@platform/dev-idp';
import { availableDatabases, TestPlatform } from '../support/test-platform';

describe.each(availableDatabases())('service accounts and least privilege for machines on %s', (database) => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  const as = (user: string, method: string, path: string, options: Parameters<TestPlatform['request']>[2] = {}) =>
    platform.request(method, path, { token: tokens[user], ...options });
  const machineToken = (account: { clientId: string; clientSecret: string }, scopes: string[]) =>
    clientCredentialsToken(platform.issuer, { ...account, scopes }, platform.audience);
  const event = (name: string) => ({ events: [{ name, timestamp: '2026-11-30T10:00:00Z' }] });

  beforeAll(async () => {
    platform = await TestPlatform.start({}, database);
    for (const user of ['alice', 'bob', 'carol', 'dave']) tokens[user] = await platform.userToken(user);
  });
  afterAll(() => platform?.close());

  it('an admin registers a service account, the machine ingests events with its own credentials, the analyst counts them', async () => {
    const registered = await as('alice', 'POST', '/service-accounts', {
      body: { name: 'Nightly import', scopes: ['analytics:events:write'] },
    });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({
      name: 'Nightly import',
      scopes: ['analytics:events:write'],
      status: 'active',
      createdBy: 'alice',
    });
    expect(registered.body.clientId).toMatch(/^sa-acme-/);
    expect(registered.body.clientSecret).toEqual(expect.any(String));
    // The secret is shown once: never in later reads.
    const read = await as('alice', 'GET', `/service-accounts/${registered.body.id}`);
    expect(read.body.clientSecret).toBeUndefined();
    expect((await as('alice', 'GET', '/service-accounts')).body.items.map((a: { id: string }) => a.id)).toContain(
      registered.body.id,
    );
    expect((await as('dave', 'GET', `/service-accounts/${registered.body.id}`)).status).toBe(404);

    const name = `import-${randomBytes(3).toString('hex')}`;
    const token = await machineToken(registered.body, ['analytics:events:write']);
    const ingested = await platform.request('POST', '/analytics/events', { token, body: event(name) });
    expect(ingested.status).toBe(202);
    expect(await platform.auditOf(ingested.requestId)).toMatchObject({
      principalType: 'service',
      clientId: registered.body.clientId,
      tenant: 'acme',
      decision: 'allow',
    });
    const counts = await as('carol', 'GET', `/analytics/events/counts?name=${name}`);
    expect(counts.body.counts).toEqual([{ name, count: 1, uniqueUsers: 1 }]);
  });

  it('a machine gets only the scopes its tenant granted, whatever its token carries; deactivation stops it at once', async () => {
    const account = (
      await as('alice', 'POST', '/service-accounts', {
        body: { name: 'Reporter', scopes: ['analytics:events:write', 'analytics:events:read'] },
      })
    ).body;
    const token = await machineToken(account, ['analytics:events:write', 'analytics:events:read']);
    expect((await platform.request('GET', '/analytics/events/counts', { token })).status).toBe(200);

    // The admin narrows the grant; the identity provider still puts the old scope in the token.
    expect(
      (
        await as('alice', 'POST', `/service-accounts/${account.id}/scopes`, {
          body: { scopes: ['analytics:events:write'] },
        })
      ).body.scopes,
    ).toEqual(['analytics:events:write']);
    const narrowed = await platform.request('GET', '/analytics/events/counts', { token });
    expect(narrowed.body).toMatchObject({ status: 403, reason: 'scope_not_granted' });
    expect(await platform.auditOf(narrowed.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'scope_not_granted',
      details: { notGranted: ['analytics:events:read'] },
    });
    expect((await platform.request('POST', '/analytics/events', { token, body: event('still-allowed') })).status).toBe(
      202,
    );
    // The explanation agrees with the guard.
    const explained = await as(
      'alice',
      'GET',
      `/platform/authz/explain?subject=${account.clientId}&type=service&permission=analytics:events:read&scopes=analytics:events:write,analytics:events:read`,
    );
    expect(explained.body).toMatchObject({
      decision: 'deny',
      reason: 'scope_not_granted',
      grantedScopes: ['analytics:events:write'],
    });
    const unregistered = await as(
      'alice',
      'GET',
      '/platform/authz/explain?subject=nobody-registered&type=service&permission=analytics:events:write&scopes=analytics:events:write',
    );
    expect(unregistered.body).toMatchObject({
      decision: 'deny',
      reason: 'service_account_not_registered',
      grantedScopes: null,
    });
    // A scope nobody granted and nobody may: billing is out of reach.
    expect((await platform.request('GET', '/billing/invoices', { token })).body).toMatchObject({
      status: 403,
      reason: 'insufficient_scope',
    });

    expect((await as('alice', 'POST', `/service-accounts/${account.id}/deactivate`)).body.status).toBe('deactivated');
    expect((await platform.request('POST', '/analytics/events', { token, body: event('x') })).body).toMatchObject({
      status: 403,
      reason: 'principal_deactivated',
    });
    await as('alice', 'POST', `/service-accounts/${account.id}/reactivate`);
    expect((await platform.request('POST', '/analytics/events', { token, body: event('x') })).status).toBe(202);
  });

  it('admins grant only scopes whose permissions they hold; other roles cannot register machines', async () => {
    expect(
      (await as('alice', 'POST', '/service-accounts', { body: { name: 'm', scopes: ['platform:metrics:read'] } })).body,
    ).toMatchObject({ status: 403, reason: 'cannot_grant_scope' });
    expect(
      (await as('alice', 'POST', '/service-accounts', { body: { name: 'm', scopes: ['no:such:scope'] } })).body,
    ).toMatchObject({ status: 400, reason: 'unknown_scope' });
    expect(
      (await as('bob', 'POST', '/service-accounts', { body: { name: 'm', scopes: ['billing:invoices:read'] } })).status,
    ).toBe(403);
    expect(
      (
        await as('alice', 'POST', '/service-accounts', {
          body: { name: 'm', scopes: ['analytics:events:write'], clientId: 'ingest-bot' },
        })
      ).body,
    ).toMatchObject({ status: 409, reason: 'client_already_registered' });
    expect((await as('alice', 'POST', '/service-accounts', { body: { name: 'm', scopes: [] } })).status).toBe(400);
  });

  it("an admin binding another tenant's client id gains nothing and takes nothing from that tenant", async () => {
    expect(
      (
        await as('dave', 'POST', '/service-accounts', {
          body: { name: 'not mine', scopes: ['analytics:events:read'], clientId: 'ingest-bot' },
        })
      ).status,
    ).toBe(201);
    const bot = await platform.clientToken('ingest-bot');
    // ingest-bot's tokens name acme: acme's binding applies, globex's never does.
    expect(
      (await platform.request('POST', '/analytics/events', { token: bot, body: event('still-acme') })).status,
    ).toBe(202);
    expect((await platform.request('GET', '/analytics/events/counts', { token: bot })).body).toMatchObject({
      status: 403,
      reason: 'insufficient_scope',
    });
  });

  it('a machine client of a tenant that was never registered is refused', async () => {
    const client = {
      clientId: `rogue-${randomBytes(3).toString('hex')}`,
      clientSecret: randomBytes(16).toString('hex'),
    };
    await platform.running.devIdp?.registerClient({ ...client, tenant: 'acme', scopes: ['analytics:events:write'] });
    const response = await platform.request('POST', '/analytics/events', {
      token: await machineToken(client, ['analytics:events:write']),
      body: event('x'),
    });
    expect(response.body).toMatchObject({ status: 403, reason: 'service_account_not_registered' });
  });
});

describe('users provisioned just in time, tenants and memberships', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await TestPlatform.start({});
  });
  afterAll(() => platform?.close());

  it('a user who only ever called another app is provisioned with the profile from the token, with the tenant', async () => {
    const carol = await platform.userToken('carol');
    const alice = await platform.userToken('alice');
    expect((await platform.request('GET', '/analytics/events/counts', { token: carol })).status).toBe(200);
    await platform.running.app.get(UserProvisioner).settled();
    const listed = (await platform.request('GET', '/users', { token: alice })).body.items;
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ subject: 'carol', name: 'Carol Clark', email: 'carol@acme.test', type: 'user' }),
      ]),
    );
    // alice and carol: carol only through the provisioning of her analytics request.
    expect((await platform.request('GET', '/users/tenant', { token: alice })).body.users).toBeGreaterThanOrEqual(2);

    // The identity provider changes the profile: the next request carries it, and the record follows.
    const provisioner = platform.running.app.get(UserProvisioner);
    const carolRow = listed.find((u: { subject: string }) => u.subject === 'carol');
    provisioner.seen({
      subject: 'carol',
      type: 'user',
      tenant: 'acme',
      issuer: platform.issuer,
      roles: [],
      boundRoles: [],
      scopes: [],
      clientId: null,
      expiresAt: 0,
      actors: [],
      boundKeyThumbprint: null,
      tokenId: null,
      claims: { name: 'Carol Carter', email: 'carol@acme.test' },
    });
    await provisioner.settled();
    expect((await platform.request('GET', `/users/${carolRow.id}`, { token: alice })).body).toMatchObject({
      name: 'Carol Carter',
    });
    expect((await platform.request('GET', '/users/me/memberships', { token: carol })).body).toEqual([
      expect.objectContaining({ tenant: 'acme' }),
    ]);
    // A platform operator outside any tenant belongs to none.
    expect(
      (await platform.request('GET', '/users/me/memberships', { token: await platform.userToken('olivia') })).body,
    ).toEqual([]);
  });
});
