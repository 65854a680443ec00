import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDpopProof, generateDpopKey } from '@platform/dev-idp';
import { auditTable } from '../support/audit-table';
import { Glewlwyd, glewlwydInstalled, type GlewlwydSetup } from '../support/glewlwyd';
import { TestPlatform, type TestResponse } from '../support/test-platform';

const INSTALLED = glewlwydInstalled();
if (!INSTALLED)
  process.stdout.write(
    '[e2e] interop with glewlwyd: SKIPPED (glewlwyd is not installed: scripts/ci/install-glewlwyd.sh)\n',
  );

const AUD = 'https://api.platform.test';
const OTHER_AUD = 'https://other-api.example';
/** The platform's settings for glewlwyd (docs/identity-providers.md), with the key-cache rules stated. */
const CLOCK_TOLERANCE_SECONDS = 30;
const JWKS_CACHE_SECONDS = 600;

/** glewlwyd's people and clients: the README's seeded identities, plus erin whose roles arrive joined. */
const SETUP: GlewlwydSetup = {
  audience: AUD,
  otherAudiences: [OTHER_AUD],
  accessTokenSeconds: 3600,
  people: [
    // alice and olivia hold no role at glewlwyd: the platform's bootstrap makes them admin and operator.
    { username: 'alice', tenant: 'acme' },
    { username: 'bob', tenant: 'acme', roles: ['billing-manager'] },
    { username: 'carol', tenant: 'acme', roles: ['analyst'] },
    { username: 'dave', tenant: 'globex', roles: ['admin'] },
    { username: 'olivia' },
    { username: 'erin', tenant: 'acme', roles: ['billing-manager', 'analyst'] },
  ],
  clients: [
    {
      clientId: 'ingest-bot',
      secret: 'ingest-secret',
      tenant: 'acme',
      scopes: ['analytics:events:write', 'billing:invoices:read'],
    },
    { clientId: 'metrics-scraper', secret: 'scraper-secret', scopes: ['platform:metrics:read'] },
  ],
};

const decode = (token: string, part: 0 | 1) =>
  JSON.parse(Buffer.from(token.split('.')[part], 'base64url').toString('utf8')) as Record<string, unknown>;
const events = (name: string) => ({
  events: [{ name, timestamp: '2026-11-30T10:00:00Z', properties: { plan: 'pro' } }],
});
const invoice = {
  customer: 'Wayne Enterprises',
  currency: 'EUR',
  lines: [{ description: 'Seats', quantity: 3, unitAmount: 1250 }],
};

/**
 * Interop with glewlwyd 2.7.5 (Debian's package), an OpenID provider no one here wrote (issue 16
 * item 7): its people sign in through authorization code + PKCE with roles as ONE comma-joined
 * string, its machines use client credentials, it rotates from RS256 to ES256, binds tokens with
 * DPoP; the platform trusts it with the settings of docs/identity-providers.md, its first admin
 * and its operator bootstrapped without SQL. One glewlwyd, one platform, tests in order.
 */
describe.runIf(INSTALLED)('interop with glewlwyd, an independent OpenID provider', { timeout: 60_000 }, () => {
  let glewlwyd: Glewlwyd;
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  const subjects: Record<string, string> = {};

  /** One request, its status asserted (the body named in the failure message). */
  const expectCall = async (
    who: string | undefined,
    method: string,
    path: string,
    status: number,
    options: { body?: unknown; headers?: Record<string, string>; reason?: string } = {},
  ): Promise<TestResponse> => {
    const response = await platform.request(method, path, {
      token: who === undefined ? undefined : tokens[who],
      body: options.body,
      headers: options.headers,
    });
    expect(
      { who, method, path, status: response.status, ...(options.reason && { reason: response.body.reason }) },
      JSON.stringify(response.body).slice(0, 400),
    ).toEqual({
      who,
      method,
      path,
      status,
      ...(options.reason && { reason: options.reason }),
    });
    return response;
  };

  /** The audit record of a refused request names the reason the response gave. */
  const expectRefused = async (response: TestResponse, status: number, reason: string) => {
    expect({ status: response.status, reason: response.body.reason }).toEqual({ status, reason });
    expect(await platform.auditOf(response.requestId)).toMatchObject({ decision: 'deny', reason, status });
  };

  beforeAll(async () => {
    glewlwyd = await Glewlwyd.start(SETUP);
    await Promise.all([
      ...SETUP.people.map(async ({ username }) => {
        tokens[username] = await glewlwyd.userToken(username);
        // glewlwyd's subjects are opaque (made at the first sign-in): the bootstrap names them.
        subjects[username] = decode(tokens[username], 1).sub as string;
      }),
      glewlwyd
        .machineToken('ingest-bot', 'analytics:events:write billing:invoices:read')
        .then((token) => (tokens.bot = token)),
      glewlwyd.machineToken('metrics-scraper', 'platform:metrics:read').then((token) => (tokens.scraper = token)),
    ]);
    const grants = [
      { subject: subjects.alice, tenant: 'acme', roles: ['admin'] },
      { subject: subjects.olivia, roles: ['platform-operator'] },
    ];
    platform = await TestPlatform.start({
      OIDC_ISSUER: glewlwyd.issuer,
      OIDC_AUDIENCE: AUD,
      OIDC_PRESET: 'generic',
      OIDC_CLAIM_DELIMITER: 'comma',
      OIDC_REQUIRE_AT_JWT: 'true',
      OIDC_CLOCK_TOLERANCE_SECONDS: String(CLOCK_TOLERANCE_SECONDS),
      OIDC_JWKS_CACHE_SECONDS: String(JWKS_CACHE_SECONDS),
      PLATFORM_BOOTSTRAP: JSON.stringify({ grants }),
    });
  }, 120_000);
  afterAll(async () => {
    vi.useRealTimers();
    await platform?.close();
    await glewlwyd?.stop();
  });

  it("(a) the README walkthrough with glewlwyd's people: a bootstrapped admin (no SQL) grants roles, the answers are the walkthrough's", async () => {
    // The first admin and the operator were bound at start, audited as the bootstrap (no SQL).
    await platform.flushAudit();
    const bootstrapped = (await auditTable(platform)).filter(
      (r) => r.event === 'access.role_bound' && r.request_id.startsWith('bootstrap-'),
    );
    expect(bootstrapped).toHaveLength(2);
    // glewlwyd has no dynamic registration: alice registers its existing client as acme's service account.
    const registered = await expectCall('alice', 'POST', '/service-accounts', 201, {
      body: { name: 'Ingest bot', scopes: ['analytics:events:write'], clientId: 'ingest-bot' },
    });
    expect(registered.body).toMatchObject({
      clientId: 'ingest-bot',
      scopes: ['analytics:events:write'],
      status: 'active',
    });

    // billing: create, list, open, pay (retry-safe), read
    const created = await expectCall('bob', 'POST', '/billing/invoices', 201, { body: invoice });
    const invoiceId = created.body.id as string;
    expect(created.body).toMatchObject({ status: 'draft', total: 3750 });
    await expectCall('bob', 'GET', '/billing/invoices', 200);
    expect((await expectCall('bob', 'POST', `/billing/invoices/${invoiceId}/open`, 200)).body.status).toBe('open');
    const pay = { body: { amount: 3750, currency: 'EUR' }, headers: { 'idempotency-key': `pay-${invoiceId}` } };
    const paid = await expectCall('bob', 'POST', `/billing/invoices/${invoiceId}/payments`, 201, pay);
    expect((await expectCall('bob', 'POST', `/billing/invoices/${invoiceId}/payments`, 201, pay)).body.id).toBe(
      paid.body.id,
    );
    await expectCall('bob', 'GET', `/billing/invoices/${invoiceId}`, 200);

    // analytics: the machine sends events, the analyst counts them, the admin reads usage
    await expectCall('bot', 'POST', '/analytics/events', 202, { body: events('signup') });
    const counts = await expectCall('carol', 'GET', '/analytics/events/counts?from=2026-11-01T00:00:00Z', 200);
    expect(counts.body.counts).toContainEqual(expect.objectContaining({ name: 'signup', count: 1 }));
    await expectCall(
      'carol',
      'GET',
      '/analytics/events/series?name=signup&from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z&interval=hour',
      200,
    );
    await expectCall('alice', 'GET', '/analytics/usage?from=2026-11-01T00:00:00Z&to=2030-01-01T00:00:00Z', 200);

    // user management: provisioned just in time from the tokens
    const bobMe = await expectCall('bob', 'GET', '/users/me', 200);
    expect(bobMe.body).toMatchObject({ tenant: 'acme', subject: subjects.bob, type: 'user' });
    await expectCall('bob', 'GET', '/users/me/memberships', 200);
    await expectCall('alice', 'GET', '/users', 200);
    await expectCall('alice', 'GET', '/users/tenant', 200);

    // refusals of the walkthrough
    await expectCall(undefined, 'GET', '/billing/invoices', 401, { reason: 'missing_token' });
    await expectCall('carol', 'GET', '/billing/invoices', 403, { reason: 'insufficient_permission' });
    await expectCall('bot', 'GET', '/billing/invoices', 403, { reason: 'scope_not_granted' });
    await expectCall('bot', 'POST', '/billing/invoices', 403, { body: {}, reason: 'insufficient_scope' });
    await expectCall('dave', 'GET', `/billing/invoices/${invoiceId}`, 404);

    // the audit trail
    await expectCall('alice', 'GET', '/platform/audit?decision=deny', 200);
    await expectCall('alice', 'GET', `/platform/audit?subject=${encodeURIComponent(subjects.carol)}`, 200);
    await expectCall('alice', 'GET', '/platform/audit?kind=event&event=billing.invoice.created', 200);
    // NDJSON: read as text (TestPlatform.request parses any *json type whole).
    const exported = await fetch(`${platform.url}/platform/audit/export?app=billing`, {
      headers: { authorization: `Bearer ${tokens.alice}` },
    });
    expect(exported.status).toBe(200);
    expect(
      (await exported.text())
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line).app),
    ).toContain('billing');

    // role bindings and deactivation by the bootstrapped admin
    const carolId = (await expectCall('carol', 'GET', '/users/me', 200)).body.id as string;
    await expectCall('alice', 'POST', `/users/${carolId}/roles`, 200, { body: { role: 'billing-manager' } });
    await expectCall('carol', 'GET', '/billing/invoices', 200);
    await expectCall('alice', 'DELETE', `/users/${carolId}/roles/billing-manager`, 200);
    await expectCall('carol', 'GET', '/billing/invoices', 403, { reason: 'insufficient_permission' });
    await expectCall(
      'alice',
      'GET',
      `/platform/authz/explain?subject=${encodeURIComponent(subjects.carol)}&permission=billing:invoices:read&roles=analyst`,
      200,
    );
    await expectCall('alice', 'POST', `/users/${carolId}/deactivate`, 200);
    await expectCall('carol', 'GET', '/analytics/events/counts', 403, { reason: 'principal_deactivated' });
    await expectCall('alice', 'POST', `/users/${carolId}/reactivate`, 200);
    await expectCall('carol', 'GET', '/analytics/events/counts', 200);

    // the bootstrapped platform operator (no tenant) and the metrics scraper (no tenant)
    await expectCall('olivia', 'GET', '/platform/routes', 200);
    await expectCall('olivia', 'GET', '/platform/apps', 200);
    await expectCall('olivia', 'GET', '/platform/audit?decision=deny', 200);
    const metrics = await expectCall('scraper', 'GET', '/metrics', 200);
    expect(metrics.body).toMatch(/^platform_http_requests_total/m);
    await expectCall(undefined, 'GET', '/health/ready', 200);
  });

  it('(b) a person through authorization code + PKCE whose roles arrive as one comma-joined string', async () => {
    const { accessToken, idToken } = await glewlwyd.userTokens('erin');
    expect(decode(accessToken, 0)).toMatchObject({ typ: 'at+jwt', alg: 'RS256' });
    expect(decode(accessToken, 1)).toMatchObject({
      iss: glewlwyd.issuer,
      aud: AUD,
      tenant: 'acme',
      roles: 'billing-manager,analyst',
      client_id: 'platform-cli',
    });
    tokens.erin = accessToken;
    const invoices = await expectCall('erin', 'GET', '/billing/invoices', 200);
    expect(await platform.auditOf(invoices.requestId)).toMatchObject({
      decision: 'allow',
      subject: subjects.erin,
      principalType: 'user',
      tenant: 'acme',
      issuer: glewlwyd.issuer,
    });
    await expectCall('erin', 'GET', '/analytics/events/counts', 200);
    await expectCall('erin', 'GET', '/users', 403, { reason: 'insufficient_permission' });
    // Her ID token (typ JWT, at_hash) is never an access token.
    await expectRefused(await platform.request('GET', '/billing/invoices', { token: idToken }), 401, 'wrong_token_use');
  });

  it("(c) a machine through client credentials reaches a tenant route: the client's tenant property is its tenant claim", async () => {
    const token = await glewlwyd.machineToken('ingest-bot', 'analytics:events:write');
    expect(decode(token, 1)).toMatchObject({
      sub: 'ingest-bot',
      client_id: 'ingest-bot',
      tenant: 'acme',
      scope: 'analytics:events:write',
      aud: AUD,
    });
    const sent = await platform.request('POST', '/analytics/events', { token, body: events('machine') });
    expect(sent.status).toBe(202);
    expect(await platform.auditOf(sent.requestId)).toMatchObject({
      decision: 'allow',
      principalType: 'service',
      clientId: 'ingest-bot',
      tenant: 'acme',
    });
    // A client without the tenant property reaches only routes outside any tenant.
    const scraper = await glewlwyd.machineToken('metrics-scraper', 'platform:metrics:read');
    await expectRefused(
      await platform.request('GET', '/analytics/events/counts', { token: scraper }),
      403,
      'tenant_required',
    );
  });

  it('(d) rotation: ES256 added and made the signing key, RS256 removed; new tokens accepted, RS256 tokens refused once the key set is reloaded', async () => {
    const before = tokens.bob;
    expect(decode(before, 0)).toMatchObject({ alg: 'RS256', kid: 'rsa-1' });

    await glewlwyd.rotateKeys('add-es256');
    expect((await glewlwyd.publishedKids()).sort()).toEqual(['ec-2', 'rsa-1']);
    const rotated = await glewlwyd.userToken('bob');
    expect(decode(rotated, 0)).toMatchObject({ alg: 'ES256', kid: 'ec-2' });
    // An unknown kid makes the platform refetch the JWKS once.
    expect((await platform.request('GET', '/billing/invoices', { token: rotated })).status).toBe(200);
    expect(platform.logLines()).toContainEqual(
      expect.objectContaining({ msg: 'JWKS loaded', cause: 'unknown_kid', added: ['ec-2'] }),
    );
    expect((await platform.request('GET', '/billing/invoices', { token: before })).status).toBe(200);

    await glewlwyd.rotateKeys('remove-rs256');
    expect(await glewlwyd.publishedKids()).toEqual(['ec-2']);
    // Until the next load of the key set, the platform still knows rsa-1 (docs/identity-providers.md, Rotation).
    expect((await platform.request('GET', '/billing/invoices', { token: before })).status).toBe(200);
    // The cached set expires after OIDC_JWKS_CACHE_SECONDS: the clock is moved past it (Date only).
    const fresh = await glewlwyd.userToken('bob');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + (JWKS_CACHE_SECONDS + 1) * 1000 });
    try {
      expect((await platform.request('GET', '/billing/invoices', { token: fresh })).status).toBe(200);
      expect(platform.logLines()).toContainEqual(expect.objectContaining({ msg: 'JWKS loaded', removed: ['rsa-1'] }));
      await expectRefused(await platform.request('GET', '/billing/invoices', { token: before }), 401, 'unknown_kid');
      expect((await platform.request('GET', '/billing/invoices', { token: rotated })).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('(e) a DPoP-bound token (cnf.jkt) works with a proof and is refused without one', async () => {
    const key = await generateDpopKey();
    const bound = await glewlwyd.userTokens('bob', { dpop: key });
    expect(bound.tokenType.toLowerCase()).toBe('dpop');
    expect(decode(bound.accessToken, 1).cnf).toEqual({ jkt: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const url = `${platform.url}/billing/invoices`;
    const accepted = await platform.request('GET', '/billing/invoices', {
      token: bound.accessToken,
      scheme: 'DPoP',
      headers: { dpop: await createDpopProof(key, 'GET', url, bound.accessToken) },
    });
    expect(accepted.status).toBe(200);
    expect(await platform.auditOf(accepted.requestId)).toMatchObject({
      decision: 'allow',
      dpopBound: true,
      subject: subjects.bob,
    });
    await expectRefused(
      await platform.request('GET', '/billing/invoices', { token: bound.accessToken, scheme: 'DPoP' }),
      401,
      'invalid_dpop_proof',
    );
    await expectRefused(
      await platform.request('GET', '/billing/invoices', { token: bound.accessToken }),
      401,
      'dpop_proof_required',
    );
    const otherKey = await generateDpopKey();
    const stolen = await platform.request('GET', '/billing/invoices', {
      token: bound.accessToken,
      scheme: 'DPoP',
      headers: { dpop: await createDpopProof(otherKey, 'GET', url, bound.accessToken) },
    });
    await expectRefused(stolen, 401, 'invalid_dpop_proof');
  });

  it('(f) refusals: a tampered token, another audience, no audience asked for, an expired token', async () => {
    const carol = await glewlwyd.userToken('carol');
    const [header, , signature] = carol.split('.');
    const raised = Buffer.from(JSON.stringify({ ...decode(carol, 1), roles: 'admin' })).toString('base64url');
    await expectRefused(
      await platform.request('GET', '/users', { token: `${header}.${raised}.${signature}` }),
      401,
      'invalid_signature',
    );

    const elsewhere = await glewlwyd.machineToken('ingest-bot', 'analytics:events:write', { resource: OTHER_AUD });
    expect(decode(elsewhere, 1).aud).toBe(OTHER_AUD);
    await expectRefused(
      await platform.request('POST', '/analytics/events', { token: elsewhere, body: events('x') }),
      401,
      'aud_mismatch',
    );
    // Without a resource indicator glewlwyd puts the granted scopes into aud.
    const noResource = await glewlwyd.machineToken('ingest-bot', 'analytics:events:write', { resource: null });
    expect(decode(noResource, 1).aud).not.toBe(AUD);
    await expectRefused(
      await platform.request('POST', '/analytics/events', { token: noResource, body: events('x') }),
      401,
      'aud_mismatch',
    );

    const token = await glewlwyd.machineToken('ingest-bot', 'analytics:events:write');
    expect((await platform.request('POST', '/analytics/events', { token, body: events('expiring') })).status).toBe(202);
    // The clock (Date only) moved past exp and the tolerance.
    vi.useFakeTimers({
      toFake: ['Date'],
      now: ((decode(token, 1).exp as number) + CLOCK_TOLERANCE_SECONDS + 1) * 1000,
    });
    try {
      await expectRefused(
        await platform.request('POST', '/analytics/events', { token, body: events('expiring') }),
        401,
        'expired',
      );
    } finally {
      vi.useRealTimers();
    }
  });
});
