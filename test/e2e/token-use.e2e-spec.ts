import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

/**
 * ID tokens never pass as access tokens (issue 13 part 13): an ID token carrying the API's
 * audience (an implicit flow, several providers) is refused by the markers an ID token has and an
 * access token lacks, and an issuer that types its access tokens can require RFC 9068 `at+jwt`.
 * Real tokens signed by a test issuer, over HTTP, each refusal audited.
 */
describe('token use: ID tokens are never access tokens', () => {
  let issuer: TestIssuer;
  let env: Record<string, string>;
  const AUD = 'platform-api';
  const now = () => Math.floor(Date.now() / 1000);
  const token = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    issuer.sign({ aud: AUD, sub: 'user-1', roles: ['billing-manager'], tenant: 't1', ...claims }, { header });

  async function attempt(platform: TestPlatform, bearer: string) {
    const response = await platform.request('GET', '/billing/invoices', { token: bearer });
    const audit = await platform.auditOf(response.requestId);
    return { status: response.status, reason: response.body?.reason as string | undefined, audit };
  }

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    issuer.addKey('k-ed', 'ed25519');
    env = { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD, OIDC_JWKS_REFETCH_INTERVAL_SECONDS: '0' };
  });
  afterAll(async () => {
    await issuer?.close();
  });

  describe('an issuer that sends JWT-typed access tokens (the default)', () => {
    let platform: TestPlatform;
    beforeAll(async () => {
      platform = await TestPlatform.start(env);
    });
    afterAll(async () => {
      await platform?.close();
    });

    it('an access token with scope, auth_time and typ JWT, at+jwt or none passes', async () => {
      expect(
        (await attempt(platform, token({ scope: 'openid invoices', auth_time: now() - 10 }, { typ: 'JWT' }))).status,
      ).toBe(200);
      expect((await attempt(platform, token({ scp: ['invoices'], auth_time: now() - 10 }))).status).toBe(200);
      expect((await attempt(platform, token({}, { typ: undefined }))).status).toBe(200);
      expect((await attempt(platform, token({}, { typ: 'application/at+jwt' }))).status).toBe(200);
    });

    const idTokenShapes: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
      ['nonce', { nonce: 'n-1' }, {}, 'nonce'],
      ['at_hash', { at_hash: 'x3v0aN4Xo1Y1YhL0n6-lNw' }, {}, 'at_hash'],
      ['c_hash', { c_hash: 'LDktKdoQak3Pk0cnXxCltA' }, {}, 'c_hash'],
      ['auth_time with no scope', { auth_time: 1_764_400_000 }, {}, 'auth_time_without_scope'],
      [
        'the implicit-flow ID token of the issue (typ JWT, API audience, nonce, auth_time, no hashes)',
        { nonce: 'n', auth_time: 1_764_400_000 },
        { typ: 'JWT' },
        'nonce',
      ],
    ];
    it.each(idTokenShapes)(
      '%s -> 401 wrong_token_use, audited with the marker',
      async (_name, claims, header, marker) => {
        const { status, reason, audit } = await attempt(platform, token(claims, header));
        expect(status).toBe(401);
        expect(reason).toBe('wrong_token_use');
        expect(audit).toMatchObject({ decision: 'deny', reason: 'wrong_token_use', status: 401 });
        expect(JSON.stringify(audit.details)).toContain(marker);
      },
    );

    it('the same markers refuse an EdDSA token (jose path)', async () => {
      const ed = (claims: Record<string, unknown>) =>
        issuer.sign({ aud: AUD, sub: 'user-1', roles: ['billing-manager'], tenant: 't1', ...claims }, { kid: 'k-ed' });
      expect((await attempt(platform, ed({}))).status).toBe(200);
      expect((await attempt(platform, ed({ nonce: 'n' }))).reason).toBe('wrong_token_use');
      expect((await attempt(platform, ed({ auth_time: now() }))).reason).toBe('wrong_token_use');
    });

    it.each(['id+jwt', 'logout+jwt', 'dpop+jwt', 'secevent+jwt', 'JOSE', 'at+jwt+x'])(
      'header typ %s -> 401 wrong_token_use',
      async (typ) => {
        const { status, reason } = await attempt(platform, token({}, { typ }));
        expect(status).toBe(401);
        expect(reason).toBe('wrong_token_use');
      },
    );
  });

  // Passport keeps one strategy per name per process: this platform starts after the first closed.
  describe('an issuer that types its access tokens (OIDC_REQUIRE_AT_JWT=true)', () => {
    let platform: TestPlatform;
    beforeAll(async () => {
      platform = await TestPlatform.start({ ...env, OIDC_REQUIRE_AT_JWT: 'true' });
    });
    afterAll(async () => {
      await platform?.close();
    });

    it('refuses typ JWT and an untyped token, naming the expected typ; accepts at+jwt in any case', async () => {
      expect((await attempt(platform, token({}, { typ: undefined }))).reason).toBe('wrong_token_use');
      const { status, reason, audit } = await attempt(platform, token({}, { typ: 'JWT' }));
      expect(status).toBe(401);
      expect(reason).toBe('wrong_token_use');
      expect(audit.details).toMatchObject({ typ: 'JWT', expectedTyp: 'at+jwt' });
      expect((await attempt(platform, token())).status).toBe(200);
      expect((await attempt(platform, token({}, { typ: 'AT+JWT' }))).status).toBe(200);
      expect((await attempt(platform, token({}, { typ: 'application/at+jwt' }))).status).toBe(200);
    });
  });
});
