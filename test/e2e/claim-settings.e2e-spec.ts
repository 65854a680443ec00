import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthTestApp } from '../support/auth-test-app';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

/**
 * Claim settings of an issuer (issue 16 items 3 and 6): the roles and groups claim paths, a string
 * delimiter for providers that join values (glewlwyd), groups mapped to platform roles, a
 * one-element string, the malformed claim named in the 401, and the Entra ID groups overage named,
 * never guessed. Real tokens from a test issuer, the real guard over HTTP.
 */
const AUD = 'platform-api';
const now = () => Math.floor(Date.now() / 1000);
let issuer: TestIssuer;
let app: AuthTestApp | undefined;
const person = (claims: Record<string, unknown>) => issuer.sign({ aud: AUD, sub: 'person-1', iat: now(), ...claims });
const start = async (env: Record<string, string> = {}) => {
  app = await AuthTestApp.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD, ...env });
  return app;
};

beforeAll(async () => {
  issuer = await TestIssuer.start();
  issuer.addKey('k1');
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(() => issuer?.close());

describe('multi-valued claims as one string', () => {
  it('a one-element string is that value (no delimiter configured)', async () => {
    const a = await start();
    expect((await a.call('GET', '/whoami', person({ roles: 'billing-manager' }))).body.roles).toEqual([
      'billing-manager',
    ]);
    expect((await a.call('POST', '/billing/invoices', person({ roles: 'billing-manager' }))).status).toBe(201);
    // Without a delimiter a joined string is one (unknown) role, never split by guess.
    expect((await a.call('GET', '/whoami', person({ roles: 'billing-manager,analysts' }))).body.roles).toEqual([
      'billing-manager,analysts',
    ]);
    expect((await a.call('POST', '/billing/invoices', person({ roles: 'billing-manager,analysts' }))).status).toBe(403);
  });

  it("OIDC_CLAIM_DELIMITER=comma splits glewlwyd's joined roles", async () => {
    const a = await start({ OIDC_CLAIM_DELIMITER: 'comma' });
    const token = person({ roles: 'billing-manager,analysts' });
    expect((await a.call('GET', '/whoami', token)).body.roles).toEqual(['billing-manager', 'analysts']);
    expect((await a.call('POST', '/billing/invoices', token)).status).toBe(201);
  });
});

describe('a malformed claim is named in the 401, never its value', () => {
  it.each([
    ['roles', { roles: 42 }],
    ['roles', { roles: ['ok', { secret: 'v-9f8e7d' }] }],
    ['tenant', { tenant: ['v-9f8e7d'] }],
  ])('%s', async (claim, claims) => {
    const a = await start();
    const response = await a.call('GET', '/whoami', person(claims));
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ reason: 'malformed_claims', claim });
    expect(response.body.detail).toContain(`"${claim}"`);
    expect(response.headers.get('www-authenticate')).toContain(`claim '${claim}'`);
    expect(JSON.stringify(response.body)).not.toContain('v-9f8e7d');
    expect(JSON.stringify(response.body)).not.toContain('42');
  });
});

describe('claim paths and groups', () => {
  it('OIDC_ROLES_CLAIM takes a nested path (realm_access.roles); a name with dots is read as a name first', async () => {
    const a = await start({ OIDC_ROLES_CLAIM: 'realm_access.roles' });
    expect(
      (await a.call('GET', '/whoami', person({ realm_access: { roles: ['billing-manager'] } }))).body.roles,
    ).toEqual(['billing-manager']);
    const named = person({ 'realm_access.roles': ['admin'], realm_access: { roles: ['billing-manager'] } });
    expect((await a.call('GET', '/whoami', named)).body.roles).toEqual(['admin']);
    const wrong = await a.call('GET', '/whoami', person({ realm_access: { roles: 7 } }));
    expect(wrong.body).toMatchObject({ reason: 'malformed_claims', claim: 'realm_access.roles' });
  });

  it('OIDC_GROUPS_CLAIM: groups (a joined string too) map to platform roles through roleMappings', async () => {
    const a = await start({
      OIDC_GROUPS_CLAIM: 'groups',
      OIDC_CLAIM_DELIMITER: 'space',
      POLICY_FILE: path.resolve(__dirname, '../fixtures/policy.groups.test.yaml'),
    });
    expect((await a.call('POST', '/billing/invoices', person({ groups: ['grp-finance'] }))).status).toBe(201);
    expect((await a.call('POST', '/billing/invoices', person({ groups: 'grp-sales grp-finance' }))).status).toBe(201);
    expect((await a.call('POST', '/billing/invoices', person({ groups: ['grp-sales'] }))).status).toBe(403);
  });
});

describe('Entra ID groups overage: named, never guessed, never fetched', () => {
  let graph: Server;
  let graphHits = 0;
  let graphUrl = '';
  beforeAll(async () => {
    graph = createServer((_req, res) => {
      graphHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"value":["grp-finance"]}');
    });
    await new Promise<void>((resolve) => graph.listen(0, '127.0.0.1', () => resolve()));
    graphUrl = `http://127.0.0.1:${(graph.address() as AddressInfo).port}/v1.0/users/x/getMemberObjects`;
  });
  afterAll(() => new Promise<void>((resolve) => graph.close(() => resolve())));

  const overage = () => ({ _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: graphUrl } } });

  it('a person whose groups did not fit is refused 403 groups_overage, the groups endpoint never called', async () => {
    const a = await start({
      OIDC_GROUPS_CLAIM: 'groups',
      POLICY_FILE: path.resolve(__dirname, '../fixtures/policy.groups.test.yaml'),
    });
    const response = await a.call('POST', '/billing/invoices', person(overage()));
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ reason: 'groups_overage', missingPermissions: ['billing:invoices:write'] });
    expect(response.body.detail).toMatch(/never guessed/);
    // A role the token does carry still counts; the overage only concerns group-derived roles.
    expect(
      (await a.call('POST', '/billing/invoices', person({ ...overage(), roles: ['billing-manager'] }))).status,
    ).toBe(201);
    expect((await a.call('GET', '/whoami', person({ hasgroups: true }))).body.groupsOverage).toBe(true);
    expect(graphHits).toBe(0);
  });

  it('the audit record names groups_overage', async () => {
    const platform = await TestPlatform.start({
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      OIDC_GROUPS_CLAIM: 'groups',
    });
    try {
      const response = await platform.request('GET', '/billing/invoices', {
        token: person({ ...overage(), tenant: 'acme' }),
      });
      expect(response.status).toBe(403);
      expect(response.body.reason).toBe('groups_overage');
      const audit = await platform.auditOf(response.requestId);
      expect(audit).toMatchObject({ decision: 'deny', reason: 'groups_overage', status: 403 });
      expect(audit.details).toMatchObject({ groupsOverage: true });
      expect(graphHits).toBe(0);
    } finally {
      await platform.close();
    }
  });
});
