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
  /** In the protected segment: used at least once since it was remembered. */
  protected: boolean;
  /** Protected only: used since the protected segment last passed over it (second chance). */
  referenced: boolean;
}

/** Default of `VERIFIED_TOKEN_CACHE_SIZE`: most tokens remembered at once (about 2.1 KB of heap each with a 730-character token, see docs/performance.md). */
export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 50_000;

/**
 * A short stand-in for an evicted token: its last 12 characters, from the signature (random to
 * whoever does not hold the key). A collision only places a token in the other segment; it grants nothing.
 */
const ghostOf = (token: string): string => token.slice(-12);

/** Share of the capacity that tokens used again may hold (the protected segment); the rest is for new ones. */
const PROTECTED_SHARE = 0.8;

/**
 * Remembers tokens that passed every check, keyed by the exact token string, until they expire
 * and never longer. An entry is dropped as soon as its signing key leaves the issuer's JWKS or
 * changes under the same `kid`, or the issuer turns out misconfigured, so a revoked key stops its
 * tokens at once. Bounded: at most `VERIFIED_TOKEN_CACHE_SIZE` entries (`config.verifiedTokenCacheSize`).
 *
 * Eviction is segmented (SLRU-like): a new token waits in a probation segment (oldest evicted
 * first); its first reuse moves it to the protected segment (at most 80% of the capacity), where a
 * hit only sets a flag and the oldest unflagged entry is demoted back to probation when the segment
 * is full (second chance). So tokens used once (first-seen, scanners) never push out tokens that
 * keep coming back, and a cyclic working set larger than the capacity still hits for the part the
 * protected segment holds, where plain FIFO or LRU miss on every request (each insert evicting the
 * next token to come): a token evicted from probation is remembered as a ghost (12 characters),
 * and enters the protected segment directly when it comes back.
 */
@Injectable()
export class VerifiedTokenCache {
  /** Never reused since remembered, oldest first. */
  private readonly probation = new Map<string, Entry>();
  /** Reused at least once, oldest (or last passed over) first. */
  private readonly protectedEntries = new Map<string, Entry>();
  /** Recently evicted from probation ({@link ghostOf} of their tokens, oldest first): back soon, they go straight to protected. */
  private readonly ghosts = new Set<string>();
  /** Most entries held (`VERIFIED_TOKEN_CACHE_SIZE`). */
  readonly capacity: number;
  private readonly protectedCapacity: number;

  constructor(
    private readonly config: PlatformConfig,
    private readonly issuers: IssuerRegistry,
  ) {
    this.capacity = config.verifiedTokenCacheSize ?? DEFAULT_VERIFIED_TOKEN_CACHE_SIZE;
    this.protectedCapacity = Math.floor(this.capacity * PROTECTED_SHARE);
  }

  /** The principal verified earlier for this exact token, while still valid; else undefined. */
  get(token: string): Principal | undefined {
    return this.lookup(token)?.principal;
  }

  /** The remembered verification of this exact token, while still valid (as {@link get}); else undefined. */
  lookup(token: string): VerifiedToken | undefined {
    const entry = this.protectedEntries.get(token) ?? this.probation.get(token);
    if (entry === undefined) return undefined;
    if (
      Date.now() > entry.notAfterMs ||
      this.fingerprintOf(entry.principal.issuer, entry.kid) !== entry.keyFingerprint
    ) {
      this.segmentOf(entry).delete(token);
      return undefined;
    }
    if (entry.protected) entry.referenced = true;
    else this.protect(token, entry);
    return entry;
  }

  /**
   * The entry just remembered for this token by {@link set}, without counting a use (a token seen
   * once stays on probation) and without the validity checks of {@link lookup}: for the request
   * that verified it only.
   */
  peek(token: string): VerifiedToken | undefined {
    return this.protectedEntries.get(token) ?? this.probation.get(token);
  }

  set(token: string, principal: Principal, kid: string | undefined): void {
    const keyFingerprint = this.fingerprintOf(principal.issuer, kid);
    // No current key to tie the entry to (keys being replaced, issuer misconfigured): not remembered.
    if (keyFingerprint === undefined) return;
    this.protectedEntries.delete(token);
    this.probation.delete(token);
    if (this.size >= this.capacity) this.evictOne();
    const tolerance =
      this.issuers.resolve(principal.issuer)?.trusted.config.clockToleranceSeconds ??
      this.config.oidc.clockToleranceSeconds;
    const notAfterMs = (principal.expiresAt + tolerance) * 1000;
    const entry: Entry = { principal, kid, keyFingerprint, notAfterMs, protected: false, referenced: false };
    // Evicted before its reuse and back: a working set larger than probation, worth protecting
    // while there is room (displacing a protected token would only move the misses around).
    if (this.ghosts.delete(ghostOf(token)) && this.protectedEntries.size < this.protectedCapacity)
      this.protect(token, entry);
    else this.probation.set(token, entry);
  }

  get size(): number {
    return this.probation.size + this.protectedEntries.size;
  }

  private segmentOf(entry: Entry): Map<string, Entry> {
    return entry.protected ? this.protectedEntries : this.probation;
  }

  /** Moves a reused entry from probation to the protected segment, demoting one when that is full. */
  private protect(token: string, entry: Entry): void {
    this.probation.delete(token);
    entry.protected = true;
    entry.referenced = false;
    this.protectedEntries.set(token, entry);
    if (this.protectedEntries.size > this.protectedCapacity) this.demoteOne();
  }

  /**
   * Moves the oldest protected entry not used since it was last passed over to probation (newest
   * there); the used ones passed on the way go to the back, unflagged. Amortised O(1): each pass
   * clears a flag that only a later hit sets again.
   */
  private demoteOne(): void {
    for (const [token, entry] of this.protectedEntries) {
      this.protectedEntries.delete(token);
      if (!entry.referenced) {
        entry.protected = false;
        this.probation.set(token, entry);
        return;
      }
      entry.referenced = false;
      this.protectedEntries.set(token, entry);
    }
  }

  /** Drops the oldest entry on probation (or, with none there, a protected one, as {@link demoteOne} picks it). */
  private evictOne(): void {
    if (this.probation.size === 0) this.demoteOne();
    const oldest = this.probation.keys().next();
    if (oldest.done === true) return;
    this.probation.delete(oldest.value);
    if (this.ghosts.size >= this.capacity) this.ghosts.delete(this.ghosts.values().next().value as string);
    this.ghosts.add(ghostOf(oldest.value));
  }

  private fingerprintOf(issuer: string, kid: string | undefined): string | undefined {
    return this.issuers.resolve(issuer)?.trusted.keys.currentKeyFingerprint(kid);
  }
}
