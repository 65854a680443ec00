import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IssuerKeyStore, IssuerMisconfiguration } from '@platform/auth/testing';
import { parsePlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

/**
 * A misconfigured issuer is not an outage (issue 16 item 5): a discovery document naming another
 * issuer (one slash apart) or a key set with no key for the allowed algorithms answers 503
 * `issuer_misconfigured` without Retry-After, fails readiness with the cause, is logged once with
 * the expected and found values, heals when the issuer is fixed, and stops a production start.
 */
describe('issuer misconfiguration', () => {
  let issuer: TestIssuer;
  let platform: TestPlatform | undefined;
  const AUD = 'platform-api';
  const token = () => issuer.sign({ aud: AUD, sub: 'u-1', tenant: 't1', roles: ['billing-manager'] });

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
  });
  afterEach(async () => {
    await platform?.close();
    platform = undefined;
    issuer.discoveryIssuer = undefined;
  });
  afterAll(() => issuer?.close());

  it('a discovery document naming the issuer with a trailing slash: 503 issuer_misconfigured, no Retry-After, readiness names both, logged once; fixed, it heals', async () => {
    issuer.discoveryIssuer = `${issuer.issuer}/`;
    platform = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD });
    for (let i = 0; i < 3; i++) {
      const response = await platform.request('GET', '/billing/invoices', { token: token() });
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ status: 503, reason: 'issuer_misconfigured' });
      expect(response.headers.get('retry-after')).toBeNull();
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await platform.auditOf(response.requestId)).toMatchObject({
        decision: 'deny',
        reason: 'issuer_misconfigured',
        status: 503,
      });
    }
    const ready = await platform.request('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.issuer).toMatchObject({
      status: 'down',
      problem: 'discovery_issuer_mismatch',
      expected: issuer.issuer,
      found: `${issuer.issuer}/`,
    });
    const logged = platform.logLines().filter((l) => String(l.msg).startsWith('Issuer misconfigured'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ expected: issuer.issuer, found: `${issuer.issuer}/` });

    issuer.discoveryIssuer = undefined;
    expect((await platform.request('GET', '/health/ready')).status).toBe(200);
    expect((await platform.request('GET', '/billing/invoices', { token: token() })).status).toBe(200);
  });

  it('keys of an algorithm not allowed (EC keys only, OIDC_ALGORITHMS=RS256): 503 issuer_misconfigured, readiness names the algorithms and keys', async () => {
    const ecOnly = await TestIssuer.start();
    try {
      ecOnly.addKey('ec-1', 'ec');
      platform = await TestPlatform.start({ OIDC_ISSUER: ecOnly.issuer, OIDC_AUDIENCE: AUD, OIDC_ALGORITHMS: 'RS256' });
      const response = await platform.request('GET', '/billing/invoices', {
        token: ecOnly.sign({ aud: AUD, sub: 'u-1', tenant: 't1' }, { alg: 'RS256' }),
      });
      expect(response.status).toBe(503);
      expect(response.body.reason).toBe('issuer_misconfigured');
      expect(response.headers.get('retry-after')).toBeNull();
      const ready = await platform.request('GET', '/health/ready');
      expect(ready.body.checks.issuer).toMatchObject({
        status: 'down',
        problem: 'no_key_for_allowed_algorithms',
        expected: 'RS256',
        found: 'ec-1:ec',
      });
    } finally {
      await platform?.close();
      platform = undefined;
      await ecOnly.close();
    }
  });

  it('an unreachable issuer stays issuer_unavailable with Retry-After (an outage, not a misconfiguration)', async () => {
    const gone = await TestIssuer.start();
    const url = gone.issuer;
    await gone.close();
    platform = await TestPlatform.start({ OIDC_ISSUER: url, OIDC_AUDIENCE: AUD, OIDC_HTTP_TIMEOUT_MS: '500' });
    // Named by its own iss: a token is matched to its issuer before any key lookup.
    const response = await platform.request('GET', '/billing/invoices', {
      token: issuer.sign({ aud: AUD, sub: 'u-1', tenant: 't1', iss: url }),
    });
    expect(response.status).toBe(503);
    expect(response.body.reason).toBe('issuer_unavailable');
    expect(response.headers.get('retry-after')).toBe('5');
  });

  it('a production start fails naming both issuers; elsewhere the platform starts and answers 503', async () => {
    issuer.discoveryIssuer = `${issuer.issuer}/`;
    const base = parsePlatformConfig({ NODE_ENV: 'test', OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD });
    const production = new IssuerKeyStore({ ...base, env: 'production' }, new PlatformMetrics());
    const started = production.onModuleInit();
    await expect(started).rejects.toBeInstanceOf(IssuerMisconfiguration);
    await expect(started).rejects.toThrow(
      `OIDC_ISSUER is "${issuer.issuer}" but its discovery document names the issuer "${issuer.issuer}/"`,
    );
    const test = new IssuerKeyStore(base, new PlatformMetrics());
    await expect(test.onModuleInit()).resolves.toBeUndefined();
    expect(test.misconfigured()?.problem).toBe('discovery_issuer_mismatch');
  });
});
