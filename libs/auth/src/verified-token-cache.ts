import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';
import { IssuerRegistry } from './issuer-registry';
import type { Principal } from './principal';
import type { VerifiedToken } from './verified-token';

export type { VerifiedToken } from './verified-token';

interface Entry extends VerifiedToken {
  kid: string | undefined;
  /** The signing key's fingerprint when the token was verified (see IssuerKeyStore.currentKeyFingerprint). */
  keyFingerprint: string;
  /** Last instant the token is still valid: (`exp` + clock tolerance), in epoch milliseconds. */
  notAfterMs: number;
}

/** Most tokens remembered at once; the oldest is dropped first. */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/**
 * Remembers tokens that passed every check, keyed by the exact token string, until they expire
 * and never longer. An entry is dropped as soon as its signing key leaves the issuer's JWKS or
 * changes under the same `kid`, or the issuer turns out misconfigured, so a revoked key stops its
 * tokens at once. Bounded: at most {@link VERIFIED_TOKEN_CACHE_SIZE} entries.
 */
@Injectable()
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly config: PlatformConfig,
    private readonly issuers: IssuerRegistry,
  ) {}

  /** The principal verified earlier for this exact token, while still valid; else undefined. */
  get(token: string): Principal | undefined {
    return this.lookup(token)?.principal;
  }

  /** The remembered verification of this exact token, while still valid (as {@link get}); else undefined. */
  lookup(token: string): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (
      Date.now() > entry.notAfterMs ||
      this.fingerprintOf(entry.principal.issuer, entry.kid) !== entry.keyFingerprint
    ) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, principal: Principal, kid: string | undefined): void {
    const keyFingerprint = this.fingerprintOf(principal.issuer, kid);
    // No current key to tie the entry to (keys being replaced, issuer misconfigured): not remembered.
    if (keyFingerprint === undefined) return;
    if (this.entries.size >= VERIFIED_TOKEN_CACHE_SIZE) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    const tolerance =
      this.issuers.resolve(principal.issuer)?.trusted.config.clockToleranceSeconds ??
      this.config.oidc.clockToleranceSeconds;
    const notAfterMs = (principal.expiresAt + tolerance) * 1000;
    this.entries.set(token, { principal, kid, keyFingerprint, notAfterMs });
  }

  private fingerprintOf(issuer: string, kid: string | undefined): string | undefined {
    return this.issuers.resolve(issuer)?.trusted.keys.currentKeyFingerprint(kid);
  }

  get size(): number {
    return this.entries.size;
  }
}
