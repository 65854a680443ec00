import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessStateService, PolicyService } from '@platform/auth';
import { TestIssuer } from '../support/test-issuer';
import { availableDatabases, TestPlatform } from '../support/test-platform';

const AUD = 'platform-api';

/** Waits for the next access-state reload of an instance (how a change arrives there). */
function nextAccessChange(platform: TestPlatform): Promise<void> {
  return new Promise((resolve) => {
    const off = platform.running.app.get(AccessStateService).onChange(() => {
      off();
      resolve();
    });
  });
}

describe.each(availableDatabases())('role bindings, deactivation and policy reload on %s', (database) => {
  let issuer: TestIssuer;
  let platform: TestPlatform;
  let policyFile: string;
  const token = (sub: string, roles: string[], tenant = 'acme') => issuer.sign({ aud: AUD, sub, tenant, roles });
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    policyFile = path.join(mkdtempSync(path.join(tmpdir(), 'policy-')), 'policy.yaml');
    copyFileSync(path.resolve(__dirname, '../../config/policy.yaml'), policyFile);
    platform = await TestPlatform.start(
      { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD, POLICY_FILE: policyFile },
      database,
    );
    for (const [sub, roles, tenant] of [
      ['alice', ['admin'], 'acme'],
      ['bob', ['billing-manager'], 'acme'],
      ['carol', ['analyst'], 'acme'],
      ['dave', ['admin'], 'globex'],
    ] as const) {
      ids[sub] = (await platform.request('GET', '/users/me', { token: token(sub, [...roles], tenant) })).body.id;
    }
  });
  afterAll(async () => {
    await platform?.close();
    await issuer?.close();
  });

  const alice = () => token('alice', ['admin']);

  it('a tenant admin grants a role she holds; it adds to the token\u2019s roles; revoking takes it away', async () => {
    const carol = token('carol', ['analyst']);
    expect((await platform.request('GET', '/billing/invoices', { token: carol })).status).toBe(403);
    const granted = await platform.request('POST', `/users/${ids.carol}/roles`, {
      token: alice(),
      body: { role: 'billing-manager' },
    });
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({ subject: 'carol', boundRoles: ['billing-manager'], status: 'active' });
    expect((await platform.request('GET', '/billing/invoices', { token: carol })).status).toBe(200);
    expect((await platform.request('GET', '/analytics/events/counts', { token: carol })).status).toBe(200);

    const revoked = await platform.request('DELETE', `/users/${ids.carol}/roles/billing-manager`, { token: alice() });
    expect(revoked.status).toBe(200);
    expect(revoked.body.boundRoles).toEqual([]);
    const denied = await platform.request('GET', '/billing/invoices', { token: carol });
    expect(denied.status).toBe(403);
    expect(await platform.auditOf(denied.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_permission',
      subject: 'carol',
    });
    expect(
      (await platform.request('DELETE', `/users/${ids.carol}/roles/billing-manager`, { token: alice() })).status,
    ).toBe(404);
  });

  it('explain names the rule that decides: a binding, a token role and what it includes, or nothing', async () => {
    const olivia = issuer.sign({ aud: AUD, sub: 'olivia', roles: ['platform-operator'] });
    await platform.request('POST', `/users/${ids.carol}/roles`, { token: alice(), body: { role: 'billing-manager' } });
    const bound = await platform.request(
      'GET',
      '/platform/authz/explain?subject=carol&tenant=acme&permission=billing:invoices:read&roles=analyst',
      { token: olivia },
    );
    expect(bound.status).toBe(200);
    expect(bound.body).toMatchObject({
      decision: 'allow',
      reason: 'permission_granted',
      boundRoles: ['billing-manager'],
      grantedBy: [
        {
          role: 'billing-manager',
          pattern: 'billing:invoices:read',
          source: { role: 'billing-manager', source: 'binding' },
        },
      ],
    });
    const viaAdmin = await platform.request(
      'GET',
      '/platform/authz/explain?subject=alice&permission=analytics:events:read&roles=admin',
      { token: alice() },
    );
    expect(viaAdmin.body.grantedBy).toEqual(
      expect.arrayContaining([
        { role: 'admin', pattern: 'analytics:*', source: { role: 'admin', source: 'token' } },
        {
          role: 'analyst',
          pattern: 'analytics:events:read',
          source: { role: 'analyst', source: 'includes', from: 'admin' },
        },
      ]),
    );
    await platform.request('DELETE', `/users/${ids.carol}/roles/billing-manager`, { token: alice() });
    const revoked = await platform.request(
      'GET',
      '/platform/authz/explain?subject=carol&tenant=acme&permission=billing:invoices:read&roles=analyst',
      { token: olivia },
    );
    expect(revoked.body).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_permission',
      grantedBy: [],
      boundRoles: [],
    });

    const otherTenant = await platform.request(
      'GET',
      '/platform/authz/explain?subject=x&tenant=globex&permission=billing:invoices:read',
      { token: alice() },
    );
    expect(otherTenant.status).toBe(403);
    expect(otherTenant.body.reason).toBe('other_tenant');
    expect(
      (
        await platform.request('GET', '/platform/authz/explain?subject=x&tenant=acme&permission=billing:nothing:read', {
          token: olivia,
        })
      ).body.reason,
    ).toBe('unknown_permission');
    expect(
      (
        await platform.request('GET', '/platform/authz/explain?subject=x&permission=billing:invoices:read', {
          token: olivia,
        })
      ).body.reason,
    ).toBe('tenant_required');
    expect(
      (
        await platform.request('GET', '/platform/authz/explain?subject=x&permission=billing:invoices:read', {
          token: token('bob', ['billing-manager']),
        })
      ).status,
    ).toBe(403);
  });

  it('an admin cannot grant a role she does not hold, nor an unknown role, nor touch another tenant', async () => {
    const unheld = await platform.request('POST', `/users/${ids.carol}/roles`, {
      token: alice(),
      body: { role: 'platform-operator' },
    });
    expect(unheld.status).toBe(403);
    expect(unheld.body.reason).toBe('cannot_grant_unheld_role');
    const unknown = await platform.request('POST', `/users/${ids.carol}/roles`, {
      token: alice(),
      body: { role: 'wizard' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.reason).toBe('unknown_role');
    const otherTenant = await platform.request('POST', `/users/${ids.carol}/roles`, {
      token: token('dave', ['admin'], 'globex'),
      body: { role: 'analyst' },
    });
    expect(otherTenant.status).toBe(404);
    expect(
      (await platform.request('POST', `/users/${ids.carol}/deactivate`, { token: token('dave', ['admin'], 'globex') }))
        .status,
    ).toBe(404);
    const notAdmin = await platform.request('POST', `/users/${ids.carol}/roles`, {
      token: token('bob', ['billing-manager']),
      body: { role: 'billing-manager' },
    });
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body.reason).toBe('insufficient_permission');
  });

  it('a deactivated user is denied everywhere with a still-valid token, until reactivated', async () => {
    const bob = token('bob', ['billing-manager']);
    expect((await platform.request('POST', `/users/${ids.bob}/deactivate`, { token: alice() })).body.status).toBe(
      'deactivated',
    );
    for (const pathname of ['/billing/invoices', '/users/me']) {
      const response = await platform.request('GET', pathname, { token: bob });
      expect(response.status).toBe(403);
      expect(response.body.reason).toBe('principal_deactivated');
      expect(await platform.auditOf(response.requestId)).toMatchObject({
        decision: 'deny',
        reason: 'principal_deactivated',
        subject: 'bob',
      });
    }
    // A token naming no tenant does not slip past the deactivation.
    const tenantless = await platform.request(
      'GET',
      '/platform/authz/explain?subject=x&tenant=acme&permission=billing:invoices:read',
      {
        token: issuer.sign({ aud: AUD, sub: 'bob', roles: ['admin', 'platform-operator'] }),
      },
    );
    expect(tenantless.status).toBe(403);
    expect(tenantless.body.reason).toBe('principal_deactivated');
    expect((await platform.request('POST', `/users/${ids.bob}/reactivate`, { token: alice() })).body.status).toBe(
      'active',
    );
    expect((await platform.request('GET', '/billing/invoices', { token: bob })).status).toBe(200);
    expect((await platform.request('POST', `/users/${ids.alice}/deactivate`, { token: alice() })).body.reason).toBe(
      'cannot_deactivate_self',
    );
  });

  it('the policy file reloads on change without a restart; an invalid change keeps the policy in force', async () => {
    const carol = token('carol', ['analyst']);
    expect((await platform.request('GET', '/analytics/events/counts', { token: carol })).status).toBe(200);
    const policy = platform.running.app.get(PolicyService);
    const original = readFileSync(policyFile, 'utf8');

    const applied = new Promise<boolean>((resolve) => {
      const off = policy.onReload((ok) => (off(), resolve(ok)));
    });
    writeFileSync(
      policyFile,
      original.replace(
        '      - analytics:events:read\n  platform-operator:',
        '      - billing:invoices:read\n  platform-operator:',
      ),
    );
    expect(await applied).toBe(true);
    expect((await platform.request('GET', '/analytics/events/counts', { token: carol })).status).toBe(403);
    expect((await platform.request('GET', '/billing/invoices', { token: carol })).status).toBe(200);

    const refused = new Promise<boolean>((resolve) => {
      const off = policy.onReload((ok) => (off(), resolve(ok)));
    });
    writeFileSync(policyFile, `${original}\n  broken: [\n`);
    expect(await refused).toBe(false);
    // Semantically invalid (a permission no app declares) is refused the same way.
    const refusedAgain = new Promise<boolean>((resolve) => {
      const off = policy.onReload((ok) => (off(), resolve(ok)));
    });
    writeFileSync(
      policyFile,
      original.replace(
        '      - analytics:events:read\n  platform-operator:',
        '      - billing:invoice:read\n  platform-operator:',
      ),
    );
    expect(await refusedAgain).toBe(false);
    expect((await platform.request('GET', '/billing/invoices', { token: carol })).status).toBe(200);
    expect(platform.logLines().some((l) => l.msg === 'Policy change refused; the previous policy stays in force')).toBe(
      true,
    );
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('two instances sharing one PostgreSQL', () => {
  let issuer: TestIssuer;
  let a: TestPlatform;
  let b: TestPlatform;
  const token = (sub: string, roles: string[]) => issuer.sign({ aud: AUD, sub, tenant: 'acme', roles });

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    a = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD }, 'postgres');
    b = await TestPlatform.start({
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      DATABASE_URL: a.running.config.databaseUrl as string,
    });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await issuer?.close();
  });

  it('alice revokes bob\u2019s billing role on A: bob\u2019s next request to B, within a second, is 403 and audited; a deactivated user too', async () => {
    const alice = token('alice', ['admin']);
    // bob's billing role is a binding here (a token's own roles belong to the identity provider).
    const bobToken = token('bob', []);
    const bobId = (await a.request('GET', '/users/me', { token: bobToken })).body.id;
    const carolId = (await a.request('GET', '/users/me', { token: token('carol', ['analyst']) })).body.id;

    let arrived = nextAccessChange(b);
    await a.request('POST', `/users/${bobId}/roles`, { token: alice, body: { role: 'billing-manager' } });
    await arrived;
    expect((await b.request('GET', '/billing/invoices', { token: bobToken })).status).toBe(200);

    arrived = nextAccessChange(b);
    let started = Date.now();
    await a.request('DELETE', `/users/${bobId}/roles/billing-manager`, { token: alice });
    await arrived;
    expect(Date.now() - started).toBeLessThan(1000);
    const denied = await b.request('GET', '/billing/invoices', { token: bobToken });
    expect(denied.status).toBe(403);
    expect(await b.auditOf(denied.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_permission',
      subject: 'bob',
    });

    arrived = nextAccessChange(b);
    started = Date.now();
    await a.request('POST', `/users/${carolId}/deactivate`, { token: alice });
    await arrived;
    expect(Date.now() - started).toBeLessThan(1000);
    const carol = await b.request('GET', '/analytics/events/counts', { token: token('carol', ['analyst']) });
    expect(carol.status).toBe(403);
    expect(carol.body.reason).toBe('principal_deactivated');
    expect(await b.auditOf(carol.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'principal_deactivated',
      subject: 'carol',
    });

    // The explain endpoint of instance B says why, with the audit trail's reasons.
    const olivia = issuer.sign({ aud: AUD, sub: 'olivia', roles: ['platform-operator'] });
    const why = await b.request(
      'GET',
      '/platform/authz/explain?subject=bob&tenant=acme&permission=billing:invoices:read',
      { token: olivia },
    );
    expect(why.body).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_permission',
      boundRoles: [],
      grantedBy: [],
    });
    const whyCarol = await b.request(
      'GET',
      '/platform/authz/explain?subject=carol&tenant=acme&permission=analytics:events:read&roles=analyst',
      { token: olivia },
    );
    expect(whyCarol.body).toMatchObject({ decision: 'deny', reason: 'principal_deactivated' });
  });
});
