import type { PlatformConfig } from '@platform/config';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IssuerRegistry } from './issuer-registry';
import type { Principal } from './principal';
import { SAMPLE_ISSUER, samplePrincipal } from './principal.testing';
import { DEFAULT_VERIFIED_TOKEN_CACHE_SIZE, VerifiedTokenCache } from './verified-token-cache';

const ISSUER = SAMPLE_ISSUER;
const principal = (subject: string, expiresAt = 4_000_000_000): Principal => samplePrincipal({ subject, expiresAt });
/** A distinct token per name, shaped like a JWS (the cache remembers evicted ones by their last characters). */
const token = (name: string) => `header.payload-${name}.signature-${name.padStart(12, '0')}`;

/** A cache of `capacity` entries; `keys.fingerprint` is the signing key's current fingerprint (undefined: gone). */
function setup(capacity = DEFAULT_VERIFIED_TOKEN_CACHE_SIZE, clockToleranceSeconds = 0) {
  const keys = { fingerprint: 'fp1' as string | undefined };
  const issuers = {
    resolve: (issuer: string) =>
      issuer === ISSUER
        ? { trusted: { keys: { currentKeyFingerprint: () => keys.fingerprint }, config: { clockToleranceSeconds } } }
        : undefined,
  } as unknown as IssuerRegistry;
  const config = { verifiedTokenCacheSize: capacity, oidc: { clockToleranceSeconds: 0 } } as unknown as PlatformConfig;
  const cache = new VerifiedTokenCache(config, issuers);
  /** Looks `name` up, remembering it on a miss; true on a hit. */
  const use = (name: string): boolean => {
    if (cache.lookup(token(name))) return true;
    cache.set(token(name), principal(name), 'k1');
    return false;
  };
  return { cache, keys, use };
}

afterEach(() => vi.useRealTimers());

describe('VerifiedTokenCache', () => {
  it('remembers a token until exp plus the issuer clock tolerance, never longer', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { cache } = setup(100, 5);
    cache.set(token('a'), principal('a', 1_060), 'k1');
    vi.setSystemTime(1_065_000);
    expect(cache.get(token('a'))?.subject).toBe('a');
    vi.setSystemTime(1_065_001);
    expect(cache.get(token('a'))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets a token once its signing key leaves the JWKS or changes under its kid, and remembers none without a key', () => {
    const { cache, keys } = setup();
    cache.set(token('a'), principal('a'), 'k1');
    expect(cache.lookup(token('a'))).toBeDefined();
    keys.fingerprint = 'fp2';
    expect(cache.lookup(token('a'))).toBeUndefined();
    keys.fingerprint = undefined;
    cache.set(token('b'), principal('b'), 'k1');
    expect(cache.size).toBe(0);
  });

  it('forgets a protected (reused) token the same way when its key is removed', () => {
    const { cache, keys } = setup();
    cache.set(token('a'), principal('a'), 'k1');
    cache.lookup(token('a'));
    cache.lookup(token('a'));
    keys.fingerprint = undefined;
    expect(cache.lookup(token('a'))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('peek (the verifying request itself) does not count as a reuse: a token seen once stays on probation', () => {
    const { cache, use } = setup(100);
    cache.set(token('peeked'), principal('peeked'), 'k1');
    expect(cache.peek(token('peeked'))?.principal.subject).toBe('peeked');
    cache.set(token('reused'), principal('reused'), 'k1');
    cache.lookup(token('reused'));
    for (let i = 0; i < 200; i++) use(`once${i}`);
    expect(cache.peek(token('peeked'))).toBeUndefined();
    expect(cache.lookup(token('reused'))).toBeDefined();
  });

  it('never holds more than its capacity', () => {
    const { cache, use } = setup(100);
    for (let i = 0; i < 1000; i++) use(`t${i}`);
    for (let i = 0; i < 1000; i++) use(`t${i % 150}`);
    expect(cache.size).toBe(100);
  });

  it('keeps hot tokens when tokens used once (first-seen, scanners) overflow it', () => {
    const { use } = setup(1000);
    for (let i = 0; i < 800; i++) use(`hot${i}`);
    for (let i = 0; i < 800; i++) use(`hot${i}`);
    for (let i = 0; i < 5000; i++) use(`once${i}`);
    const hits = Array.from({ length: 800 }, (_, i) => use(`hot${i}`)).filter(Boolean).length;
    // The protected segment (80% of the capacity) holds them all.
    expect(hits).toBe(800);
  });

  it('still hits on a cyclic working set larger than its capacity, where FIFO or LRU miss every time', () => {
    const { use } = setup(1000);
    const cycle = () => Array.from({ length: 1200 }, (_, i) => use(`c${i}`)).filter(Boolean).length;
    for (let round = 0; round < 3; round++) cycle();
    // Steady state: the protected segment's 800 tokens hit, the other 400 cycle through probation.
    expect(cycle()).toBeGreaterThanOrEqual(800);
  });

  it('capacity defaults to DEFAULT_VERIFIED_TOKEN_CACHE_SIZE and follows the configuration', () => {
    expect(setup().cache.capacity).toBe(DEFAULT_VERIFIED_TOKEN_CACHE_SIZE);
    expect(setup(250).cache.capacity).toBe(250);
  });
});
