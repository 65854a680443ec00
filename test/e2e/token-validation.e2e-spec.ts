import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

/**
 * Access-token validation against an issuer whose keys the test controls (pitfalls C01, C02, C03,
 * C05, C07, C11, C22 and the issue's list of bad tokens), over real HTTP, with the audit record
 * of each refusal.
 */
describe('access-token validation', () => {
  let issuer: TestIssuer;
  let platform: TestPlatform;
  const AUD = 'platform-api';
  const now = () => Math.floor(Date.now() / 1000);
  const valid = (claims: Record<string, unknown> = {}, options: Parameters<TestIssuer['sign']>[1] = {}) =>
    issuer.sign({ aud: AUD, sub: 'user-1', roles: ['billing-manager', 'analyst'], tenant: 't1', ...claims }, options);

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    platform = await TestPlatform.start({
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: `${AUD},second-api`,
      OIDC_CLOCK_TOLERANCE_SECONDS: '60',
      OIDC_JWKS_REFETCH_INTERVAL_SECONDS: '0',
      OIDC_MAX_TOKEN_LIFETIME_SECONDS: '86400',
    });
  });
  afterAll(async () => {
    await platform?.close();
    await issuer?.close();
  });

  /** Sends the token to a route and returns status, reason and the one audit record. */
  async function attempt(token: string | undefined, path = '/billing/invoices', headers: Record<string, string> = {}) {
    const response = await platform.request('GET', path, { token, headers });
    const audit = await platform.auditOf(response.requestId);
    expect(await platform.auditCount(response.requestId)).toBe(1);
    return { response, audit, reason: response.body?.reason as string | undefined };
  }

  it('accepts a valid RS256 token, and a token for any configured audience', async () => {
    expect((await attempt(valid())).response.status).toBe(200);
    expect((await attempt(valid({ aud: ['other', 'second-api'] }))).response.status).toBe(200);
  });

  it('EdDSA (Ed25519), ES256 and PS256 tokens verify; EdDSA gets the same claim checks', async () => {
    issuer.addKey('k-ed', 'ed25519');
    issuer.addKey('k-es', 'ec');
    expect((await attempt(valid({}, { kid: 'k-ed' }))).response.status).toBe(200);
    expect((await attempt(valid({}, { kid: 'k-es' }))).response.status).toBe(200);
    expect((await attempt(valid({}, { kid: 'k1', alg: 'PS256' }))).response.status).toBe(200);
    expect((await attempt(valid({ aud: 'other-api' }, { kid: 'k-ed' }))).reason).toBe('aud_mismatch');
    expect((await attempt(valid({ exp: now() - 3600 }, { kid: 'k-ed' }))).reason).toBe('expired');
    expect((await attempt(valid({ iss: 'https://evil.example/' }, { kid: 'k-ed' }))).reason).toBe('iss_mismatch');
    const [h, p, sig] = valid({}, { kid: 'k-ed' }).split('.');
    expect((await attempt(`${h}.${p}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`)).reason).toBe(
      'invalid_signature',
    );
  });

  describe('the issuer is compared exactly, never by prefix or case (a mutation run found this untested)', () => {
    const variants: [string, () => string][] = [
      ['plus a trailing slash', () => `${issuer.issuer}/`],
      ['plus .evil.example', () => `${issuer.issuer}.evil.example`],
      ['on another port', () => issuer.issuer.replace(/:(\d+)$/, (_m, port: string) => `:${Number(port) + 1}`)],
      ['in upper case', () => issuer.issuer.toUpperCase()],
      ['a prefix of it', () => issuer.issuer.slice(0, -1)],
    ];
    it.each(variants)('iss %s -> 401 iss_mismatch on the jsonwebtoken path (RS256, ES256)', async (_name, iss) => {
      if (!issuer.keys.has('k-es')) issuer.addKey('k-es', 'ec');
      expect(iss()).not.toBe(issuer.issuer);
      for (const kid of ['k1', 'k-es']) {
        const { response, audit } = await attempt(valid({ iss: iss() }, { kid }));
        expect(response.status).toBe(401);
        expect(response.body.reason).toBe('iss_mismatch');
        expect(audit).toMatchObject({ decision: 'deny', reason: 'iss_mismatch' });
      }
    });
    it.each(variants)('iss %s -> 401 iss_mismatch on the jose path (EdDSA)', async (_name, iss) => {
      if (!issuer.keys.has('k-ed')) issuer.addKey('k-ed', 'ed25519');
      const { response } = await attempt(valid({ iss: iss() }, { kid: 'k-ed' }));
      expect(response.status).toBe(401);
      expect(response.body.reason).toBe('iss_mismatch');
    });
    it('the exact issuer passes on both paths (the refusals above are about iss alone)', async () => {
      for (const kid of ['k1', 'k-es', 'k-ed']) expect((await attempt(valid({}, { kid }))).response.status).toBe(200);
    });
  });

  it('ID tokens and other explicitly typed tokens are never access tokens', async () => {
    expect((await attempt(valid({}, { header: { typ: 'id+jwt' } }))).reason).toBe('wrong_token_use');
    expect((await attempt(valid({}, { header: { typ: 'JWT' } }))).response.status).toBe(200);
    expect((await attempt(valid({ at_hash: 'x', nonce: 'n' }))).reason).toBe('wrong_token_use');
    expect((await attempt(valid({ typ: 'ID' }))).reason).toBe('wrong_token_use');
    expect((await attempt(valid({ typ: 'Refresh' }))).reason).toBe('wrong_token_use');
  });

  it('a verified token is served from the cache only until it expires', async () => {
    // Within the 60 s leeway now; past it once the clock moves 20 s on.
    const shortLived = valid({ exp: now() - 50 });
    expect((await attempt(shortLived)).response.status).toBe(200);
    const originalNow = Date.now;
    Date.now = () => originalNow() + 20_000;
    try {
      expect((await attempt(shortLived)).reason).toBe('expired');
    } finally {
      Date.now = originalNow;
    }
  });

  describe('the bad tokens of the issue, on every app: 401, invalid_token, one audit row', () => {
    const routes = ['/billing/invoices', '/analytics/events/counts', '/users/me'];
    const cases: [string, () => string, string][] = [
      ['expired', () => valid({ exp: now() - 3600, iat: now() - 7200, nbf: now() - 7200 }), 'expired'],
      ['wrong audience', () => valid({ aud: 'other-api' }), 'aud_mismatch'],
      ['wrong issuer', () => valid({ iss: 'https://evil.example/' }), 'iss_mismatch'],
      [
        'alg none',
        () =>
          TestIssuer.unsignedToken(
            { alg: 'none', typ: 'JWT' },
            { iss: issuer.issuer, aud: AUD, sub: 'x', tenant: 't1', roles: ['admin'], exp: now() + 300 },
          ),
        'alg_not_allowed',
      ],
      [
        'HS256 keyed with the public key',
        () =>
          TestIssuer.hmacToken(
            { alg: 'HS256', typ: 'JWT', kid: 'k1' },
            { iss: issuer.issuer, aud: AUD, sub: 'x', tenant: 't1', roles: ['admin'], exp: now() + 300 },
            createPublicKey({ key: issuer.key('k1').publicJwk as never, format: 'jwk' }).export({
              type: 'spki',
              format: 'pem',
            }),
          ),
        'alg_not_allowed',
      ],
      ['unknown kid', () => valid({}, { header: { kid: 'nobody-knows' } }), 'unknown_kid'],
      ['garbage', () => 'not-a-jwt', 'malformed_token'],
    ];
    for (const route of routes) {
      it.each(cases)(`${route}: %s`, async (_name, token, reason) => {
        const { response, audit } = await attempt(token(), route);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="platform", error="invalid_token"/);
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        expect(response.body).toMatchObject({ status: 401, reason, title: 'Unauthorized' });
        expect(JSON.stringify(response.body)).not.toMatch(/jwt |jsonwebtoken|secretOrPublicKey|stack/i);
        expect(audit).toMatchObject({ decision: 'deny', reason, subject: null, status: 401 });
      });
    }
  });

  describe('C01: alg none in every spelling, no JWKS fetch', () => {
    it.each(['none', 'None', 'NONE', 'nOnE'])('alg %s -> 401 alg_not_allowed', async (alg) => {
      const before = issuer.jwksFetches;
      const claims = { iss: issuer.issuer, aud: AUD, sub: 'x', tenant: 't1', roles: ['admin'], exp: now() + 300 };
      for (const token of [
        TestIssuer.unsignedToken({ alg, typ: 'JWT' }, claims),
        TestIssuer.unsignedToken({ alg, typ: 'JWT' }, claims, 'junk'),
        TestIssuer.unsignedToken({ alg, typ: 'JWT', kid: 'k1' }, claims),
      ]) {
        const { response, audit } = await attempt(token);
        expect(response.status).toBe(401);
        expect(audit).toMatchObject({ reason: 'alg_not_allowed', details: { alg } });
      }
      expect(issuer.jwksFetches).toBe(before);
    });
  });

  describe('C02: algorithm confusion and key-type mismatch', () => {
    it('HS256 keyed with the PEM (with and without newline), the DER, or the JWK text: 401 alg_not_allowed', async () => {
      const publicKey = createPublicKey({ key: issuer.key('k1').publicJwk as never, format: 'jwk' });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const secrets = [
        pem,
        pem.trimEnd(),
        `${pem.trimEnd()}\n`,
        publicKey.export({ type: 'spki', format: 'der' }),
        JSON.stringify(issuer.key('k1').publicJwk),
      ];
      for (const secret of secrets) {
        const token = TestIssuer.hmacToken(
          { alg: 'HS256', kid: 'k1' },
          { iss: issuer.issuer, aud: AUD, sub: 'x', tenant: 't1', roles: ['admin'], exp: now() + 300 },
          secret,
        );
        expect((await attempt(token)).reason).toBe('alg_not_allowed');
      }
    });

    it('ES256 header on an RSA key, RS256 header on an EC key: 401 key_alg_mismatch', async () => {
      issuer.addKey('k-ec', 'ec');
      await platform.running.app
        .get((await import('@platform/auth')).IssuerRegistry)
        .primary()
        .reload();
      expect((await attempt(valid({}, { kid: 'k-ec', header: { alg: 'RS256' }, alg: 'ES256' }))).reason).toBe(
        'key_alg_mismatch',
      );
      expect((await attempt(valid({}, { kid: 'k1', alg: 'RS256', header: { alg: 'ES256' } }))).reason).toBe(
        'key_alg_mismatch',
      );
      // The EC key itself works with its own algorithm.
      expect((await attempt(valid({}, { kid: 'k-ec' }))).response.status).toBe(200);
    });

    it('a 1024-bit RSA key is dropped with a warning naming its kid: 401 insecure_key', async () => {
      issuer.addKey('k-weak', 'rsa1024');
      const { response, audit } = await attempt(valid({}, { kid: 'k-weak' }));
      expect(response.status).toBe(401);
      expect(audit.reason).toBe('insecure_key');
      const warning = platform.logLines().find((l) => l.kid === 'k-weak' && String(l.msg).includes('insecure'));
      expect(warning).toBeDefined();
      expect(JSON.stringify(warning)).not.toContain(String(issuer.key('k-weak').publicJwk.n));
    });
  });

  describe('C03: key rotation', () => {
    it('a new kid causes exactly one refetch then 200; an absent kid is unknown_kid; a removed key stops its tokens', async () => {
      const k1Token = valid();
      expect((await attempt(k1Token)).response.status).toBe(200);
      issuer.addKey('k2');
      const before = issuer.jwksFetches;
      const { response, audit } = await attempt(valid({}, { kid: 'k2' }));
      expect(response.status).toBe(200);
      expect(audit.decision).toBe('allow');
      expect(issuer.jwksFetches).toBe(before + 1);
      const refreshLog = platform
        .logLines()
        .find((l) => l.msg === 'JWKS loaded' && (l.added as string[] | undefined)?.includes('k2'));
      expect(refreshLog).toMatchObject({ cause: 'unknown_kid' });

      expect((await attempt(valid({}, { header: { kid: 'k3-missing' } }))).reason).toBe('unknown_kid');

      // k1 leaves the JWKS: even its already-verified (cached) token stops working after the next load.
      issuer.published = issuer.published.filter((k) => k.kid !== 'k1');
      await attempt(valid({}, { header: { kid: 'k-not-there-either' } }));
      expect((await attempt(k1Token)).reason).toBe('unknown_kid');
      issuer.published.push(issuer.key('k1').publicJwk);
      await attempt(valid({}, { kid: 'k1' }));

      // New key material published under the old kid: the cached token is checked again (and fails).
      expect((await attempt(k1Token)).response.status).toBe(200);
      const replacement = issuer.addKey('k1-replacement', 'rsa', { publish: false });
      issuer.published = issuer.published.map((k) => (k.kid === 'k1' ? { ...replacement.publicJwk, kid: 'k1' } : k));
      await attempt(valid({}, { header: { kid: 'force-refetch-k1-material' } }));
      expect((await attempt(k1Token)).reason).toBe('invalid_signature');
      issuer.published = issuer.published.map((k) => (k.kid === 'k1' ? issuer.key('k1').publicJwk : k));
      await attempt(valid({}, { header: { kid: 'force-refetch-k1-restored' } }));
      expect((await attempt(k1Token)).response.status).toBe(200);
    });
  });

  describe('C05: JWKS key selection edge cases', () => {
    it('a key without "use" verifies; a key marked use=enc is key_not_for_signing', async () => {
      issuer.addKey('k-nouse', 'rsa', { jwk: { use: undefined } });
      issuer.addKey('k-enc', 'rsa', { jwk: { use: 'enc' } });
      expect((await attempt(valid({}, { kid: 'k-nouse' }))).response.status).toBe(200);
      expect((await attempt(valid({}, { kid: 'k-enc' }))).reason).toBe('key_not_for_signing');
    });

    it('identical duplicate entries verify; conflicting duplicates are ambiguous_kid; never 500', async () => {
      issuer.published.push({ ...issuer.key('k1').publicJwk });
      await attempt(valid({}, { header: { kid: 'force-refetch-1' } }));
      expect((await attempt(valid({}, { kid: 'k1' }))).response.status).toBe(200);

      const impostor = issuer.addKey('k-dup', 'rsa');
      const other = issuer.addKey('k-dup-other', 'rsa', { publish: false });
      issuer.published.push({ ...other.publicJwk, kid: 'k-dup' });
      const { response, reason } = await attempt(valid({}, { kid: impostor.kid }));
      expect(response.status).toBe(401);
      expect(reason).toBe('ambiguous_kid');
    });

    it('a token without kid is kid_required while several keys are published', async () => {
      expect((await attempt(valid({}, { header: { kid: undefined } }))).reason).toBe('kid_required');
    });
  });

  describe('C07: failure codes and reasons', () => {
    it.each([
      ['no header', undefined, 'missing_token'],
      ['two segments', 'abc.def', 'malformed_token'],
      ['not base64url', '!!!.@@@.###', 'malformed_token'],
      ['empty JSON objects', 'e30.e30.', 'malformed_token'],
    ])('%s -> 401 %s', async (_name, token, reason) => {
      const { response, audit } = await attempt(token);
      expect(response.status).toBe(401);
      expect(audit.reason).toBe(reason);
    });

    it('a wrong audience or issuer records expected and presented values, never the token', async () => {
      const token = valid({ aud: 'other-api' });
      const { audit } = await attempt(token);
      expect(audit).toMatchObject({
        reason: 'aud_mismatch',
        details: { expectedAudiences: [AUD, 'second-api'], tokenAudience: 'other-api' },
      });
      expect(JSON.stringify(audit)).not.toContain(token);
      const wrongIssuer = await attempt(valid({ iss: 'https://evil.example/' }));
      expect(wrongIssuer.audit.details).toEqual({
        expectedIssuer: issuer.issuer,
        tokenIssuer: 'https://evil.example/',
      });
    });

    it('a valid token without the permission is 403, not 401', async () => {
      const { response } = await attempt(valid({ roles: ['user'] }));
      expect(response.status).toBe(403);
      expect(response.body.reason).toBe('insufficient_permission');
    });
  });

  describe('C11: Authorization header parsing', () => {
    it.each([
      ['lower-case scheme', (t: string) => `bearer ${t}`, 200, undefined],
      ['upper-case scheme', (t: string) => `BEARER ${t}`, 200, undefined],
      ['two spaces', (t: string) => `Bearer  ${t}`, 200, undefined],
      ['trailing junk', (t: string) => `Bearer ${t} extra`, 401, 'malformed_authorization'],
      ['scheme only', () => 'Bearer', 401, 'missing_token'],
      ['Basic', () => 'Basic dXNlcjpwYXNz', 401, 'unsupported_scheme'],
    ])('%s', async (_name, header, status, reason) => {
      const { response, audit } = await attempt(undefined, '/billing/invoices', { authorization: header(valid()) });
      expect(response.status).toBe(status);
      if (reason) expect(audit.reason).toBe(reason);
      const rm = `resource_metadata="${platform.url}/.well-known/oauth-protected-resource"`;
      if (reason === 'unsupported_scheme')
        expect(response.headers.get('www-authenticate')).toBe(
          `Bearer realm="platform", ${rm}, DPoP algs="ES256 ES384 PS256 RS256 EdDSA", ${rm}`,
        );
    });

    it('a changed signature character is invalid_signature', async () => {
      const token = valid();
      const [h, p, s] = token.split('.');
      const flipped = s[5] === s[5].toUpperCase() ? s[5].toLowerCase() : s[5].toUpperCase();
      const tampered = `${h}.${p}.${s.slice(0, 5)}${flipped === s[5] ? (s[5] === 'A' ? 'B' : 'A') : flipped}${s.slice(6)}`;
      expect((await attempt(tampered)).reason).toBe('invalid_signature');
    });

    it('a token in the query string is never read, and never logged', async () => {
      const token = valid();
      const { response, audit } = await attempt(undefined, `/billing/invoices?access_token=${token}`);
      expect(response.status).toBe(401);
      expect(audit.reason).toBe('missing_token');
      expect(audit.path).toBe('/billing/invoices');
      expect(platform.logs.join('')).not.toContain(token);
    });
  });

  describe('C22: time claims with a 60 s leeway', () => {
    it.each([
      ['nbf 30 s ahead', () => ({ nbf: now() + 30 }), 200, undefined],
      ['nbf 300 s ahead', () => ({ nbf: now() + 300 }), 401, 'not_yet_valid'],
      ['iat 30 s ahead', () => ({ iat: now() + 30 }), 200, undefined],
      ['iat a day ahead', () => ({ iat: now() + 86400 }), 401, 'iat_in_future'],
      ['exp 30 s ago', () => ({ exp: now() - 30 }), 200, undefined],
      ['exp 120 s ago', () => ({ exp: now() - 120 }), 401, 'expired'],
      ['no exp', () => ({ exp: undefined }), 401, 'missing_exp'],
      ['exp as a string', () => ({ exp: '9999999999' }), 401, 'malformed_claims'],
      ['exp in 10 years', () => ({ exp: now() + 10 * 365 * 86400 }), 401, 'lifetime_exceeded'],
    ])('%s', async (_name, claims, status, reason) => {
      const presented = claims();
      const { response, audit } = await attempt(valid(presented));
      expect(response.status).toBe(status);
      if (reason) expect(audit.reason).toBe(reason);
      if (reason && reason !== 'malformed_claims') {
        // The deny records the server time and the token's time claims.
        expect(audit.details).toMatchObject({ serverTime: expect.any(Number) });
        for (const claim of ['exp', 'nbf', 'iat'] as const) {
          if (typeof presented[claim as keyof typeof presented] === 'number')
            expect(audit.details?.[claim]).toBe(presented[claim as keyof typeof presented]);
        }
      }
    });
  });

  it('tenant-less tokens are refused on tenant routes with 403 tenant_required', async () => {
    const { response } = await attempt(valid({ tenant: undefined }));
    expect(response.status).toBe(403);
    expect(response.body.reason).toBe('tenant_required');
  });
});
