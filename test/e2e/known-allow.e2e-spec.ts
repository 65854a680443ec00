import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../support/test-issuer';
import { availableDatabases, TestPlatform } from '../support/test-platform';

const AUD = 'platform-api';

// The guard remembers an allow per verified bearer token and route (one synchronous step on the
// next requests); these requests reuse one token string, so they take that step, and every change
// of roles or deactivation must still be seen on the very next request.
describe.each(availableDatabases())('a token allowed before, after an access change, on %s', (database) => {
  let issuer: TestIssuer;
  let platform: TestPlatform;
  let erin: string;
  let admin: string;
  let id: string;

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    platform = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD }, database);
    erin = issuer.sign({ aud: AUD, sub: 'erin', tenant: 'acme', roles: ['analyst'] });
    admin = issuer.sign({ aud: AUD, sub: 'root', tenant: 'acme', roles: ['admin'] });
    id = (await platform.request('GET', '/users/me', { token: erin })).body.id;
  });
  afterAll(async () => {
    await platform?.close();
    await issuer?.close();
  });

  const invoices = () => platform.request('GET', '/billing/invoices', { token: erin });

  it('a role granted, then revoked, then the person deactivated: each seen on the next request', async () => {
    expect((await invoices()).status).toBe(403);
    const grant = await platform.request('POST', `/users/${id}/roles`, {
      token: admin,
      body: { role: 'billing-manager' },
    });
    expect(grant.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const allowed = await invoices();
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('ratelimit')).toMatch(/^"billing\.user";r=\d+;t=\d+$/);
      expect(await platform.auditOf(allowed.requestId)).toMatchObject({
        decision: 'allow',
        reason: 'permission_granted',
        subject: 'erin',
      });
    }
    expect((await platform.request('DELETE', `/users/${id}/roles/billing-manager`, { token: admin })).status).toBe(200);
    const revoked = await invoices();
    expect(revoked.status).toBe(403);
    expect(await platform.auditOf(revoked.requestId)).toMatchObject({ reason: 'insufficient_permission' });

    await platform.request('POST', `/users/${id}/roles`, { token: admin, body: { role: 'billing-manager' } });
    expect((await invoices()).status).toBe(200);
    expect((await invoices()).status).toBe(200);
    expect((await platform.request('POST', `/users/${id}/deactivate`, { token: admin })).status).toBe(200);
    const deactivated = await invoices();
    expect(deactivated.status).toBe(403);
    expect(deactivated.body.reason).toBe('principal_deactivated');
  });
});
