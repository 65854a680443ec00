import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssuerRegistry } from '@platform/auth';
import { IssuerMisconfiguration } from '@platform/auth/testing';
import { parsePlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

/**
 * Several trusted issuers in one running platform (issue 16 items 1 and 2), from a validated
 * `OIDC_ISSUERS_FILE`: issuer A may speak for tenants acme and initech (its tenant claim on an
 * allow-list), issuer B only for globex (a fixed tenant); an Entra ID multi-tenant application
 * allow-lists one directory. Real tokens signed by loopback issuers, the whole platform over HTTP.
 * One platform for the whole file: the passport strategy is per process.
 */
const AUD = 'platform-api';
const ENTRA_AUD = 'api://platform';
const CONTOSO = '6e1f0c9a-2f4b-4d8e-9c3a-1b2c3d4e5f60';
const FABRIKAM = '0b7e5d2c-8a4f-4e1d-b3c2-a9f8e7d6c5b4';
let a: TestIssuer;
let b: TestIssuer;
let entra: TestIssuer;
let stranger: TestIssuer;
let platform: TestPlatform;
let dir: string;

const person = (issuer: TestIssuer, claims: Record<string, unknown>, kid?: string) =>
  issuer.sign(
    { aud: AUD, sub: `person-of-${issuer === a ? 'a' : 'b'}`, roles: ['billing-manager'], ...claims },
    kid ? { kid } : {},
  );
const entraIssuer = (tid: string) => `${entra.issuer}/${tid}/v2.0`;
const entraPerson = (tid: string, claims: Record<string, unknown> = {}) =>
  entra.sign(
    {
      iss: entraIssuer(tid),
      tid,
      aud: ENTRA_AUD,
      oid: 'oid-1',
      sub: 'entra-person',
      scp: 'access_as_user',
      roles: ['billing-manager'],
      ...claims,
    },
    { header: { typ: 'JWT' } },
  );
const invoices = (token: string) => platform.request('GET', '/billing/invoices', { token });

beforeAll(async () => {
  [a, b, entra, stranger] = await Promise.all([
    TestIssuer.start(),
    TestIssuer.start(),
    TestIssuer.start(),
    TestIssuer.start(),
  ]);
  a.addKey('a1');
  b.addKey('b1', 'ec');
  entra.addKey('e1');
  stranger.addKey('s1');
  dir = mkdtempSync(path.join(tmpdir(), 'multi-issuer-'));
  const file = path.join(dir, 'issuers.yaml');
  writeFileSync(
    file,
    `issuers:
  - issuer: ${a.issuer}
    audiences: [${AUD}]
    tenants: [acme, initech]
  - issuer: ${b.issuer}
    audiences: [${AUD}]
    algorithms: [ES256]
    tenant: globex
  - issuer: "${entra.issuer}/{tenantid}/v2.0"
    jwksUri: ${entra.issuer}/jwks
    audiences: ["${ENTRA_AUD}"]
    entraTenants:
      ${CONTOSO}: contoso
`,
  );
  platform = await TestPlatform.start({ OIDC_ISSUERS_FILE: file, OIDC_JWKS_REFETCH_INTERVAL_SECONDS: '0' });
}, 120_000);
afterAll(async () => {
  await platform?.close();
  await Promise.all([a, b, entra, stranger].map((i) => i?.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('several issuers, each bound to its tenants', () => {
  it('each issuer\u2019s people are served in their own tenants; the audit record carries the issuer', async () => {
    const fromA = await invoices(person(a, { tenant: 'acme' }));
    expect(fromA.status).toBe(200);
    expect(await platform.auditOf(fromA.requestId)).toMatchObject({
      decision: 'allow',
      issuer: a.issuer,
      tenant: 'acme',
    });
    expect((await invoices(person(a, { tenant: 'initech' }))).status).toBe(200);
    // B's tokens carry no tenant claim: its fixed tenant is the one they act in.
    const fromB = await invoices(person(b, {}));
    expect(fromB.status).toBe(200);
    expect(await platform.auditOf(fromB.requestId)).toMatchObject({
      decision: 'allow',
      issuer: b.issuer,
      tenant: 'globex',
    });
    expect((await invoices(person(b, { tenant: 'globex' }))).status).toBe(200);
  });

  it('a token of issuer A naming issuer B\u2019s tenant is refused: 401 tenant_not_allowed_for_issuer, audited with issuer and tenant', async () => {
    const response = await invoices(person(a, { tenant: 'globex' }));
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status: 401, reason: 'tenant_not_allowed_for_issuer' });
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await platform.auditOf(response.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'tenant_not_allowed_for_issuer',
      status: 401,
      details: { issuer: a.issuer, tenant: 'globex' },
    });
    // Naming no tenant would make it a platform-wide principal (platform roles): A is not trusted so.
    const none = await platform.request('GET', '/users/me', { token: person(a, {}) });
    expect(none.status).toBe(401);
    expect(await platform.auditOf(none.requestId)).toMatchObject({
      reason: 'tenant_not_allowed_for_issuer',
      details: { issuer: a.issuer, tenant: null },
    });
    // And the other way round: B speaks for globex only.
    const fromB = await invoices(person(b, { tenant: 'acme' }));
    expect(fromB.status).toBe(401);
    expect(await platform.auditOf(fromB.requestId)).toMatchObject({
      reason: 'tenant_not_allowed_for_issuer',
      details: { issuer: b.issuer, tenant: 'acme' },
    });
  });

  it('each issuer is held to its own settings: B allows ES256 only, so its RS256 key never verifies', async () => {
    b.addKey('b-rsa');
    const response = await invoices(person(b, {}, 'b-rsa'));
    expect(response.status).toBe(401);
    expect(response.body.reason).toBe('alg_not_allowed');
    // A key of B never verifies a token naming A as its issuer (keys are per issuer, chosen by iss).
    const forged = b.sign(
      { iss: a.issuer, aud: AUD, sub: 'x', tenant: 'acme', roles: ['billing-manager'] },
      { kid: 'b1' },
    );
    expect((await invoices(forged)).body.reason).toBe('unknown_kid');
    const audience = await invoices(person(a, { tenant: 'acme', aud: 'another-api' }));
    expect(await platform.auditOf(audience.requestId)).toMatchObject({
      reason: 'aud_mismatch',
      details: { expectedAudiences: [AUD], tokenAudience: 'another-api' },
    });
  });

  it('an unknown issuer is refused before any key lookup: 401 iss_mismatch, audited with the issuers', async () => {
    const fetchesBefore = [a.jwksFetches, b.jwksFetches, entra.jwksFetches];
    const response = await invoices(stranger.sign({ aud: AUD, sub: 'x', tenant: 'acme', roles: ['billing-manager'] }));
    expect(response.status).toBe(401);
    expect(response.body.reason).toBe('iss_mismatch');
    const audit = await platform.auditOf(response.requestId);
    expect(audit).toMatchObject({
      decision: 'deny',
      reason: 'iss_mismatch',
      details: { tokenIssuer: stranger.issuer },
    });
    expect(audit.details?.expectedIssuer).toEqual([a.issuer, b.issuer, entraIssuer(CONTOSO)]);
    expect([a.jwksFetches, b.jwksFetches, entra.jwksFetches]).toEqual(fetchesBefore);
  });

  it('keys rotate per issuer: A rotates, B\u2019s tokens still work without B\u2019s keys being fetched, A\u2019s new-key tokens work', async () => {
    const oldA = person(a, { tenant: 'acme' });
    expect((await invoices(oldA)).status).toBe(200);
    const bFetches = b.jwksFetches;
    // A rotates: the new key replaces the old one.
    a.published = [];
    a.addKey('a2');
    const newA = await invoices(person(a, { tenant: 'acme' }, 'a2'));
    expect(newA.status).toBe(200);
    expect((await invoices(oldA)).body.reason).toBe('unknown_kid');
    expect((await invoices(person(b, {}))).status).toBe(200);
    expect(b.jwksFetches).toBe(bFetches);
    // Then B rotates too; A is unaffected.
    const aFetches = a.jwksFetches;
    b.published = [];
    b.addKey('b2', 'ec');
    expect((await invoices(person(b, {}, 'b2'))).status).toBe(200);
    expect((await invoices(person(b, {}, 'b1'))).body.reason).toBe('unknown_kid');
    expect((await invoices(person(a, { tenant: 'initech' }, 'a2'))).status).toBe(200);
    expect(a.jwksFetches).toBe(aFetches);
  });
});

describe('Entra ID multi-tenant application', () => {
  it('an allow-listed directory is accepted, acting in the tenant it maps to', async () => {
    const response = await invoices(entraPerson(CONTOSO));
    expect(response.status).toBe(200);
    expect(await platform.auditOf(response.requestId)).toMatchObject({
      decision: 'allow',
      issuer: entraIssuer(CONTOSO),
      tenant: 'contoso',
    });
  });

  it('another directory is refused (its issuer is not trusted), before any key lookup', async () => {
    const response = await invoices(entraPerson(FABRIKAM));
    expect(response.status).toBe(401);
    expect(response.body.reason).toBe('iss_mismatch');
    expect(await platform.auditOf(response.requestId)).toMatchObject({
      details: { tokenIssuer: entraIssuer(FABRIKAM) },
    });
  });

  it('the placeholder issuer itself is refused', async () => {
    const response = await invoices(entraPerson(CONTOSO, { iss: `${entra.issuer}/{tenantid}/v2.0` }));
    expect(response.status).toBe(401);
    expect(response.body.reason).toBe('iss_mismatch');
  });

  it('an allow-listed issuer with another directory\u2019s tid (or none) is refused: the iss must be the token\u2019s own directory\u2019s', async () => {
    const response = await invoices(entraPerson(CONTOSO, { tid: FABRIKAM }));
    expect(response.status).toBe(401);
    expect(await platform.auditOf(response.requestId)).toMatchObject({
      reason: 'tenant_not_allowed_for_issuer',
      details: { issuer: entraIssuer(CONTOSO), tenant: FABRIKAM },
    });
    expect((await invoices(entraPerson(CONTOSO, { tid: undefined }))).body.reason).toBe(
      'tenant_not_allowed_for_issuer',
    );
  });
});

describe('what the platform publishes about its issuers', () => {
  it('RFC 9728 metadata lists every trusted issuer (one per allow-listed directory)', async () => {
    const response = await platform.request('GET', '/.well-known/oauth-protected-resource');
    expect(response.body.authorization_servers).toEqual([a.issuer, b.issuer, entraIssuer(CONTOSO)]);
  });

  it('readiness checks every issuer', async () => {
    const ready = await platform.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details.issuer).toMatchObject({ status: 'up', issuers: 3 });
  });
});

describe('a misconfigured issuer among several', () => {
  it('a production start fails with a message naming both issuers; elsewhere only the misconfigured issuer is marked', async () => {
    const broken = await TestIssuer.start();
    const dir2 = mkdtempSync(path.join(tmpdir(), 'multi-issuer-bad-'));
    try {
      broken.addKey('k1');
      broken.discoveryIssuer = `${broken.issuer}/`;
      const file = path.join(dir2, 'issuers.yaml');
      writeFileSync(
        file,
        `issuers:\n  - { issuer: "${a.issuer}", audiences: [${AUD}], tenant: acme }\n  - { issuer: "${broken.issuer}", audiences: [${AUD}], tenant: globex }\n`,
      );
      const config = parsePlatformConfig({ NODE_ENV: 'test', OIDC_ISSUERS_FILE: file });
      const production = new IssuerRegistry({ ...config, env: 'production' }, new PlatformMetrics());
      const started = production.onModuleInit();
      await expect(started).rejects.toBeInstanceOf(IssuerMisconfiguration);
      await expect(started).rejects.toThrow(
        `"${broken.issuer}" but its discovery document names the issuer "${broken.issuer}/"`,
      );
      const test = new IssuerRegistry(config, new PlatformMetrics());
      await expect(test.onModuleInit()).resolves.toBeUndefined();
      expect(test.resolve(a.issuer)?.trusted.keys.misconfigured()).toBeUndefined();
      expect(test.resolve(broken.issuer)?.trusted.keys.misconfigured()?.problem).toBe('discovery_issuer_mismatch');
    } finally {
      await broken.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
