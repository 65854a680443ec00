import { describe, expect, it, vi } from 'vitest';
import type { IssuerRegistry } from './issuer-registry';
import { BEARER_TOKEN, JwtBearerStrategy } from './jwt-bearer.strategy';
import type { VerifiedTokenCache } from './verified-token-cache';

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
});
