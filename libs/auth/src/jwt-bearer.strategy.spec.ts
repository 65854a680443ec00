import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { AuthFailure } from './auth-failure';
import { ClaimMapper } from './claim-mapper';
import type { IssuerRegistry, ResolvedIssuer } from './issuer-registry';
import { BEARER_TOKEN, JwtBearerStrategy } from './jwt-bearer.strategy';
import type { VerifiedTokenCache } from './verified-token-cache';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An RS256 token signed by the one test key, with kid `k1`. */
function rs256(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64url({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${b64url({ aud: 'api', iat: now, exp: now + 300, sub: 'alice', ...claims })}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** One trusted issuer entry whose keys are the test key. */
function issuerEntry(): ResolvedIssuer {
  return {
    trusted: {
      config: {
        algorithms: ['RS256'],
        requireAccessTokenType: false,
        clockToleranceSeconds: 0,
        maxTokenLifetimeSeconds: 0,
        audiences: ['api'],
        preset: 'generic',
      },
      keys: { keyFor: () => Promise.resolve(publicKey) },
      mapper: new ClaimMapper({ preset: 'generic', apiClientIds: ['api'], acceptedClientIds: [], claimNamespace: '' }),
    },
  } as unknown as ResolvedIssuer;
}

/** Runs the strategy as passport does; resolves with the principal, or the error or failure. */
function authenticate(strategy: JwtBearerStrategy, token: string): Promise<unknown> {
  return new Promise((resolve) => {
    const run = Object.create(strategy) as JwtBearerStrategy;
    Object.assign(run, { success: resolve, fail: resolve, error: resolve });
    run.authenticate({ [BEARER_TOKEN]: token, headers: {} } as never);
  });
}

describe('JwtBearerStrategy', () => {
  it('validates with passport-jwt without looking the verified-token cache up (the guard did, and missed)', () => {
    const registry = {
      acceptedIssuers: () => ['https://issuer.example'],
      algorithms: () => ['RS256'],
      maxClockToleranceSeconds: () => 0,
      forToken: () => {
        throw new Error('unknown issuer');
      },
    } as unknown as IssuerRegistry;
    const cache = { get: vi.fn(), lookup: vi.fn(), set: vi.fn() };
    const strategy = new JwtBearerStrategy(registry, cache as unknown as VerifiedTokenCache);
    const outcome = new Promise((resolve) => {
      Object.assign(strategy, { success: resolve, fail: resolve, error: resolve });
    });
    strategy.authenticate({ [BEARER_TOKEN]: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', headers: {} } as never);
    return outcome.then((result) => {
      expect(result).toBeInstanceOf(Error);
      expect(cache.get).not.toHaveBeenCalled();
      expect(cache.lookup).not.toHaveBeenCalled();
    });
  });

  describe('the issuer that chose the key', () => {
    const A = 'https://a.example';
    const B = 'https://b.example';

    /** A registry whose unverified choice is always issuer A's entry; `resolve` maps the verified iss. */
    function setup(resolveTo: (iss: string, chosen: ResolvedIssuer) => ResolvedIssuer | undefined) {
      const chosen = issuerEntry();
      const registry = {
        acceptedIssuers: () => [A, B],
        algorithms: () => ['RS256'],
        maxClockToleranceSeconds: () => 0,
        forToken: () => chosen,
        resolve: (iss: string) => resolveTo(iss, chosen),
      } as unknown as IssuerRegistry;
      const cache = { set: vi.fn() };
      return { strategy: new JwtBearerStrategy(registry, cache as unknown as VerifiedTokenCache), cache };
    }

    it('accepts a token whose verified iss resolves to the very entry that chose its key, and remembers it under its kid', async () => {
      const { strategy, cache } = setup((iss, chosen) => (iss === A ? chosen : undefined));
      const token = rs256({ iss: A });
      const principal = await authenticate(strategy, token);
      expect(principal).toMatchObject({ subject: 'alice', issuer: A });
      expect(cache.set).toHaveBeenCalledWith(token, principal, 'k1');
    });

    it('refuses as iss_mismatch a token whose verified iss is another trusted issuer than the one that chose its key', async () => {
      const other = issuerEntry();
      const { strategy, cache } = setup((iss) => (iss === B ? other : undefined));
      const outcome = await authenticate(strategy, rs256({ iss: B }));
      expect(outcome).toBeInstanceOf(AuthFailure);
      expect((outcome as AuthFailure).reason).toBe('iss_mismatch');
      expect(cache.set).not.toHaveBeenCalled();
    });
  });
});
