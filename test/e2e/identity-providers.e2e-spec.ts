import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthTestApp } from '../support/auth-test-app';
import { TestIssuer } from '../support/test-issuer';

interface Fixture {
  header: { kid?: string; alg: string };
  payload: Record<string, unknown>;
  expect: {
    subject: string;
    type: string;
    clientId: string | null;
    tenant: string | null;
    roles: string[];
    scopes: string[];
  };
}

const FIXTURES = path.resolve(__dirname, '../fixtures/idp-claims');
const PRESET_ENV: Record<string, (payload: Record<string, unknown>) => Record<string, string>> = {
  generic: () => ({ OIDC_PRESET: 'generic' }),
  okta: () => ({ OIDC_PRESET: 'okta' }),
  auth0: () => ({ OIDC_PRESET: 'auth0', OIDC_CLAIM_NAMESPACE: 'https://platform.example/' }),
  keycloak: () => ({ OIDC_PRESET: 'keycloak' }),
  entra: () => ({ OIDC_PRESET: 'entra' }),
  cognito: (payload) => ({ OIDC_PRESET: 'cognito', OIDC_CLIENT_ID: String(payload.client_id) }),
};
const now = () => Math.floor(Date.now() / 1000);

let issuer: TestIssuer;
let app: AuthTestApp | undefined;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  issuer.addKey('k1');
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(() => issuer?.close());

/** Re-signs provider claims with the test key, on the test issuer and today's clock. */
function resign(payload: Record<string, unknown>, changes: Record<string, unknown> = {}): string {
  const lifetime = Number(payload.exp) - Number(payload.iat);
  return issuer.sign({
    ...payload,
    iss: issuer.issuer,
    iat: now(),
    ...(payload.nbf !== undefined && { nbf: now() }),
    exp: now() + lifetime,
    ...changes,
  });
}

function audienceOf(payload: Record<string, unknown>): string {
  return Array.isArray(payload.aud) ? String(payload.aud[0]) : typeof payload.aud === 'string' ? payload.aud : 'unused';
}

async function startFor(
  preset: string,
  payload: Record<string, unknown>,
  extra: Record<string, string> = {},
): Promise<AuthTestApp> {
  app = await AuthTestApp.start({
    OIDC_ISSUER: issuer.issuer,
    OIDC_AUDIENCE: audienceOf(payload),
    ...PRESET_ENV[preset](payload),
    ...extra,
  });
  return app;
}

describe('claim-mapping presets against real providers\u2019 access-token shapes', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  it.each(files)('%s maps to the expected principal', async (file) => {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Fixture;
    const preset = file.split('-')[0];
    await startFor(preset, fixture.payload);
    const response = await app!.call('GET', '/whoami', resign(fixture.payload));
    expect(response.status).toBe(200);
    const { note: _note, ...expected } = fixture.expect as Fixture['expect'] & { note?: string };
    expect(response.body).toEqual(expected);
  });
});

describe('C14: Cognito access tokens have no aud: client_id and token_use are checked instead', () => {
  const base = () => ({
    sub: 'u-1',
    token_use: 'access',
    client_id: 'appclient123',
    scope: 'billing/invoices.read',
    username: 'alice',
    'cognito:groups': ['billing-managers'],
    iat: now(),
    exp: now() + 300,
  });

  it('accepts the app client, with roles from cognito:groups; refuses other clients, ID and refresh tokens', async () => {
    await startFor('cognito', { client_id: 'appclient123' });
    const ok = await app!.call('GET', '/whoami', resign(base()));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      roles: ['billing-managers'],
      scopes: ['billing/invoices.read'],
      clientId: 'appclient123',
    });
    expect((await app!.call('GET', '/whoami', resign(base(), { client_id: 'otherclient' }))).body.reason).toBe(
      'client_id_mismatch',
    );
    expect((await app!.call('GET', '/whoami', resign(base(), { client_id: undefined }))).body.reason).toBe(
      'client_id_mismatch',
    );
    const idToken = await app!.call(
      'GET',
      '/users/admin/list',
      resign({ ...base(), token_use: 'id', aud: 'appclient123', 'cognito:groups': ['admin'] }),
    );
    expect(idToken.status).toBe(401);
    expect(idToken.body.reason).toBe('wrong_token_use');
    expect((await app!.call('GET', '/whoami', resign(base(), { token_use: 'refresh' }))).body.reason).toBe(
      'wrong_token_use',
    );
  });

  it('the missing-aud exemption is Cognito\u2019s only: for another preset a token without aud is 401 aud_mismatch', async () => {
    await startFor('okta', { aud: 'api://platform' });
    const response = await app!.call(
      'GET',
      '/whoami',
      resign({ sub: 'u-1', cid: 'c', scp: [], iat: now(), exp: now() + 300 }),
    );
    expect(response.status).toBe(401);
    expect(response.body.reason).toBe('aud_mismatch');
  });
});

describe('C15: Entra ID v1 and v2 tokens', () => {
  const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  it('v1 (App ID URI audience, appid) and v2 (GUID audience, azp) map to the same principal shape; oid stands in for a missing sub', async () => {
    const v1 = {
      ver: '1.0',
      aud: 'api://billing',
      tid: TID,
      appid: 'CLIENT',
      scp: 'Invoices.Read',
      oid: 'o-1',
      iat: now(),
      exp: now() + 300,
    };
    await startFor('entra', v1, { OIDC_AUDIENCE: 'api://billing,APPID' });
    const a = await app!.call('GET', '/whoami', resign(v1));
    const b = await app!.call(
      'GET',
      '/whoami',
      resign({ ...v1, ver: '2.0', aud: 'APPID', appid: undefined, azp: 'CLIENT' }),
    );
    expect(a.status).toBe(200);
    expect(a.body).toEqual({
      subject: 'o-1',
      type: 'user',
      tenant: TID,
      roles: [],
      scopes: ['Invoices.Read'],
      clientId: 'CLIENT',
    });
    expect(b.body).toEqual(a.body);
  });

  it('a Graph token replayed against the API is aud_mismatch; a token from another issuer is iss_mismatch', async () => {
    const claims = {
      ver: '2.0',
      tid: TID,
      azp: 'CLIENT',
      scp: 'Invoices.Read',
      oid: 'o-1',
      sub: 's-1',
      iat: now(),
      exp: now() + 300,
    };
    await startFor('entra', { aud: 'APPID' });
    for (const aud of ['00000003-0000-0000-c000-000000000000', 'https://graph.microsoft.com']) {
      expect((await app!.call('GET', '/whoami', resign({ ...claims, aud }))).body.reason).toBe('aud_mismatch');
    }
    expect(
      (
        await app!.call(
          'GET',
          '/whoami',
          resign({ ...claims, aud: 'APPID' }, { iss: `https://sts.windows.example/${TID}/` }),
        )
      ).body.reason,
    ).toBe('iss_mismatch');
  });

  it('app-only roles never act as delegated user roles: the app token is a service principal and gets 403', async () => {
    const app_ = {
      ver: '2.0',
      aud: 'APPID',
      tid: TID,
      azp: 'DAEMON',
      roles: ['Billing.Manager'],
      idtyp: 'app',
      oid: 'o-2',
      sub: 'o-2',
      iat: now(),
      exp: now() + 300,
    };
    await startFor('entra', app_);
    const whoami = await app!.call('GET', '/whoami', resign(app_));
    expect(whoami.body.type).toBe('service');
    expect((await app!.call('POST', '/billing/invoices', resign(app_))).status).toBe(403);
    const user = { ...app_, idtyp: undefined, scp: 'Invoices.Write', sub: 'u-9' };
    expect((await app!.call('POST', '/billing/invoices', resign(user))).status).toBe(201);
  });
});

describe('C18: Keycloak realm_access vs resource_access', () => {
  const claims = () => ({
    sub: 'kc-user',
    aud: ['billing-api', 'account'],
    azp: 'web-spa',
    realm_access: { roles: ['offline_access', 'uma_authorization', 'billing-admin'] },
    resource_access: {
      'billing-api': { roles: ['invoice:write'] },
      reporting: { roles: ['admin'] },
      account: { roles: ['manage-account'] },
    },
    iat: now(),
    exp: now() + 300,
  });

  it("uses this API's client roles and realm roles, never another client's", async () => {
    await startFor('keycloak', { aud: 'billing-api' });
    expect((await app!.call('POST', '/billing/invoices', resign(claims()))).status).toBe(201);
    expect((await app!.call('GET', '/users/admin/list', resign(claims()))).status).toBe(403);
    expect((await app!.call('GET', '/billing/settings', resign(claims()))).status).toBe(200);
  });

  it('absent role claims are 403; a string where a list belongs is that one role (never per-character roles); a number is 401 malformed_claims naming the claim', async () => {
    await startFor('keycloak', { aud: 'billing-api' });
    const bare = { ...claims(), realm_access: undefined, resource_access: undefined };
    expect((await app!.call('POST', '/billing/invoices', resign(bare))).status).toBe(403);
    const stringRoles = {
      ...claims(),
      realm_access: undefined,
      resource_access: { 'billing-api': { roles: 'invoice:write' } },
    };
    expect((await app!.call('GET', '/whoami', resign(stringRoles))).body.roles).toEqual(['invoice:write']);
    expect((await app!.call('POST', '/billing/invoices', resign(stringRoles))).status).toBe(201);
    const numberRoles = { ...claims(), resource_access: { 'billing-api': { roles: 7 } } };
    const response = await app!.call('POST', '/billing/invoices', resign(numberRoles));
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ reason: 'malformed_claims', claim: 'resource_access.billing-api.roles' });
  });
});

describe('C20: scope claim shapes (machine tokens: sub equals client_id)', () => {
  const machine = (claims: Record<string, unknown>) =>
    resign({ sub: 'svc-1', client_id: 'svc-1', aud: 'platform-api', iat: now(), exp: now() + 300, ...claims });
  it.each([
    ['Okta scp array', { scp: ['payments:read', 'payments:write'] }, 201],
    ['RFC 9068 scope string', { scope: 'payments:read payments:write' }, 201],
    ['Entra scp string, mapped by the policy', { scp: 'payments.read payments.write' }, 201],
    ['scope as an array', { scope: ['payments:write'] }, 201],
    ['only payments:read', { scope: 'payments:read' }, 403],
    ['no substring matching', { scope: 'payments:writeall' }, 403],
    ['commas are not separators', { scope: 'payments:read,payments:write' }, 403],
    ['scope wins over scp', { scope: 'payments:read', scp: ['payments:write'] }, 403],
  ])('%s', async (_name, claims, status) => {
    app ??= await startFor('generic', { aud: 'platform-api' });
    const response = await app.call('POST', '/billing/payments', machine(claims));
    expect(response.status).toBe(status);
    if (status === 403) {
      expect(response.body.reason).toBe('insufficient_scope');
      expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    }
  });
});
