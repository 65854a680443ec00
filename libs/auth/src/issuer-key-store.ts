import { Logger, OnModuleInit } from '@nestjs/common';
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { OidcConfig, PlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { AuthFailure } from './auth-failure';
import { IssuerMisconfiguration } from './issuer-misconfiguration';
import type { JwsHeader } from './jws-header';

/** RSA keys shorter than this are dropped (RFC 8725 section 3.5; NIST SP 800-131A). */
const MIN_RSA_BITS = 2048;

type KeyStatus = 'ok' | 'enc' | 'insecure' | 'conflict';

interface KeyEntry {
  kid: string | undefined;
  status: KeyStatus;
  key?: KeyObject;
  /** The JWK's own `alg`, when it pins one. */
  alg?: string;
  /** Canonical JSON of the public parameters: tells identical duplicates from conflicting ones. */
  fingerprint: string;
}

/** Key type and curve each JWS algorithm needs (RFC 7518 section 3.1, RFC 8037). */
function keyFitsAlg(key: KeyObject, alg: string): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS') || alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (alg === 'ES256') return type === 'ec' && curve === 'prime256v1';
  if (alg === 'ES384') return type === 'ec' && curve === 'secp384r1';
  if (alg === 'ES512') return type === 'ec' && curve === 'secp521r1';
  return false;
}

function fingerprint(jwk: Record<string, unknown>): string {
  const pub = ['kty', 'crv', 'n', 'e', 'x', 'y', 'alg', 'use'].map((k) => [k, jwk[k] ?? null]);
  return JSON.stringify(pub);
}

/**
 * One trusted issuer's signing keys (the {@link IssuerRegistry} holds one store per issuer, so
 * keys, caches and refetch limits are never shared between issuers), parsed once per key id into Node `KeyObject`s
 * (a PEM string re-parsed per request costs about 110 us; a cached KeyObject about 22 us).
 *
 * - The JWKS location comes from `OIDC_JWKS_URI` or the issuer's discovery document
 *   (OpenID Connect Discovery 1.0 section 4).
 * - The set is cached for `jwksCacheSeconds`; an unknown `kid` causes at most one refetch per
 *   `jwksRefetchIntervalSeconds` (key rotation, OIDC Core section 10.1.1), concurrent callers
 *   share it.
 * - Key selection is deterministic: a token without `kid` matches only when the set holds exactly
 *   one signing key; keys marked `use: enc`, weak RSA keys and conflicting duplicates never verify.
 */
export class IssuerKeyStore implements OnModuleInit {
  private readonly logger = new Logger(IssuerKeyStore.name);
  private byKid = new Map<string, KeyEntry>();
  private signingKeys: KeyEntry[] = [];
  private fetchedAtMs = 0;
  /** When the last refetch caused by an unknown kid started (scheduled loads do not count). */
  private lastKidRefetchMs = 0;
  private lastFailureMs = 0;
  private inflight?: Promise<void>;
  private jwksUri?: string;
  /** Set while the issuer publishes something our configuration cannot work with; cleared by a good load. */
  private misconfiguration?: IssuerMisconfiguration;

  /** The settings of the issuer whose keys this store holds. */
  private readonly oidc: OidcConfig;

  /** @param issuer this store's issuer settings; default `config.oidc` (the single issuer) */
  constructor(
    private readonly config: PlatformConfig,
    private readonly metrics: PlatformMetrics,
    issuer: OidcConfig = config.oidc,
  ) {
    this.oidc = issuer;
  }

  /**
   * Warms the cache. An unreachable issuer does not stop the platform from booting (readiness says so).
   * @throws IssuerMisconfiguration in production, when the issuer publishes what the configuration cannot work with
   */
  async onModuleInit(): Promise<void> {
    await this.refresh('startup').catch((err: Error) => {
      if (err instanceof IssuerMisconfiguration && this.config.env === 'production') throw err;
      if (!(err instanceof IssuerMisconfiguration))
        this.logger.warn({ issuer: this.oidc.issuer, err }, 'JWKS not loaded at startup');
    });
  }

  /** The current misconfiguration of the issuer, if any (readiness names it). */
  misconfigured(): IssuerMisconfiguration | undefined {
    return this.misconfiguration;
  }

  /** True when a key set has been loaded (used by the readiness check). */
  isReady(): boolean {
    return this.fetchedAtMs > 0 && this.signingKeys.length > 0;
  }

  /** Reloads the key set now (readiness check, tests). @throws Error when the issuer is unreachable */
  async reload(): Promise<void> {
    await this.refresh('manual');
  }

  /** True while a verified token's key is still published (lets cached verifications expire with their key). */
  /**
   * Fingerprint (canonical public parameters) of the key a token with this `kid` is checked with
   * now; undefined when there is none or the issuer is misconfigured. A verified-token cache entry
   * stays valid only while it is unchanged: a provider that publishes new key material under an
   * old `kid` ends the old tokens at once.
   */
  currentKeyFingerprint(kid: string | undefined): string | undefined {
    if (this.misconfigured()) return undefined;
    const entry =
      kid === undefined ? (this.signingKeys.length === 1 ? this.signingKeys[0] : undefined) : this.byKid.get(kid);
    return entry?.status === 'ok' ? entry.fingerprint : undefined;
  }

  hasKey(kid: string | undefined): boolean {
    if (kid === undefined) return this.signingKeys.length === 1;
    return this.byKid.get(kid)?.status === 'ok';
  }

  /**
   * The key that must have signed a token with this header. The caller has already checked
   * `alg` against the allow-list.
   *
   * @throws AuthFailure `kid_required`, `unknown_kid`, `ambiguous_kid`, `key_not_for_signing`,
   *   `insecure_key`, `key_alg_mismatch`, or `issuer_unavailable` (no key set could ever be loaded)
   */
  async keyFor(header: JwsHeader): Promise<KeyObject> {
    // A load in flight may bring this very key (rotation seen by several requests at once).
    if (this.inflight) await this.inflight.catch(() => undefined);
    if (this.isStale() && !this.inBackoff()) {
      await this.refresh('expired').catch((err: Error) =>
        this.logger.warn({ err }, 'JWKS refresh failed; using the cached set'),
      );
    }
    if (this.misconfiguration) throw new AuthFailure('issuer_misconfigured', this.misconfiguration.toJSON());
    if (this.fetchedAtMs === 0) throw new AuthFailure('issuer_unavailable', { issuer: this.oidc.issuer });
    let entry = this.select(header);
    if (entry === undefined && header.kid !== undefined && !this.inBackoff() && this.mayRefetch()) {
      await this.refresh('unknown_kid').catch((err: Error) => this.logger.warn({ err }, 'JWKS refetch failed'));
      entry = this.select(header);
    }
    if (entry === undefined) throw new AuthFailure('unknown_kid', { kid: header.kid });
    switch (entry.status) {
      case 'enc':
        throw new AuthFailure('key_not_for_signing', { kid: header.kid });
      case 'insecure':
        throw new AuthFailure('insecure_key', { kid: header.kid });
      case 'conflict':
        throw new AuthFailure('ambiguous_kid', { kid: header.kid });
    }
    const key = entry.key as KeyObject;
    if ((entry.alg !== undefined && entry.alg !== header.alg) || !keyFitsAlg(key, header.alg)) {
      throw new AuthFailure('key_alg_mismatch', { kid: header.kid, alg: header.alg });
    }
    return key;
  }

  private select(header: JwsHeader): KeyEntry | undefined {
    if (header.kid !== undefined) return this.byKid.get(header.kid);
    // Documented policy: a kid-less token is accepted only when exactly one signing key exists.
    if (this.signingKeys.length === 1) return this.signingKeys[0];
    if (this.signingKeys.length > 1) throw new AuthFailure('kid_required');
    return undefined;
  }

  private isStale(): boolean {
    return this.fetchedAtMs === 0 || Date.now() - this.fetchedAtMs > this.oidc.jwksCacheSeconds * 1000;
  }

  /** After a failed load, requests do not each wait for another timeout: one attempt per backoff period. */
  private inBackoff(): boolean {
    return Date.now() - this.lastFailureMs < Math.max(1000, this.oidc.jwksRefetchIntervalSeconds * 1000);
  }

  private mayRefetch(): boolean {
    const now = Date.now();
    if (now - this.lastKidRefetchMs < this.oidc.jwksRefetchIntervalSeconds * 1000) return false;
    this.lastKidRefetchMs = now;
    return true;
  }

  private refresh(cause: string): Promise<void> {
    this.inflight ??= this.load(cause)
      .then(() => {
        this.misconfiguration = undefined;
        this.metrics.jwksFetches.labels(cause, 'ok').inc();
      })
      .catch((err: Error) => {
        if (err instanceof IssuerMisconfiguration) this.noteMisconfiguration(err);
        this.metrics.jwksFetches.labels(cause, 'error').inc();
        this.lastFailureMs = Date.now();
        throw err;
      })
      .finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Logged once per distinct misconfiguration (not once per request or retry), with expected and found values. */
  private noteMisconfiguration(err: IssuerMisconfiguration): void {
    const known = this.misconfiguration;
    this.misconfiguration = err;
    if (known && known.message === err.message) return;
    this.logger.error({ issuer: this.oidc.issuer, ...err.toJSON() }, err.message);
  }

  private async load(cause: string): Promise<void> {
    const uri = await this.resolveJwksUri();
    const body = await this.fetchJson(uri);
    const keys = (body as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) throw new Error('JWKS document has no "keys" array');
    const previous = new Set(this.byKid.keys());
    this.checkAlgorithms(keys);
    this.install(keys);
    this.fetchedAtMs = Date.now();
    const current = new Set(this.byKid.keys());
    this.logger.log(
      {
        issuer: this.oidc.issuer,
        jwksUri: uri,
        cause,
        kids: [...current],
        added: [...current].filter((k) => !previous.has(k)),
        removed: [...previous].filter((k) => !current.has(k)),
      },
      'JWKS loaded',
    );
  }

  /**
   * A key set with signing keys none of which any allowed algorithm can use (an EC-only issuer
   * with `OIDC_ALGORITHMS=RS256`) is a misconfiguration, not an empty key set.
   * @throws IssuerMisconfiguration `no_key_for_allowed_algorithms`
   */
  private checkAlgorithms(keys: unknown[]): void {
    const allowed = this.oidc.algorithms;
    const published: string[] = [];
    for (const raw of keys) {
      const entry = this.parse(raw);
      if (!entry || entry.status !== 'ok' || !entry.key) continue;
      if (
        allowed.some((alg) => (entry.alg === undefined || entry.alg === alg) && keyFitsAlg(entry.key as KeyObject, alg))
      )
        return;
      published.push(`${entry.kid ?? '(no kid)'}:${entry.alg ?? entry.key.asymmetricKeyType}`);
    }
    if (published.length > 0)
      throw new IssuerMisconfiguration(
        'no_key_for_allowed_algorithms',
        allowed.join(','),
        published.slice(0, 10).join(' '),
      );
  }

  private install(keys: unknown[]): void {
    const byKid = new Map<string, KeyEntry>();
    const unnamed: KeyEntry[] = [];
    for (const raw of keys) {
      const entry = this.parse(raw);
      if (!entry) continue;
      if (entry.kid === undefined) {
        unnamed.push(entry);
        continue;
      }
      const existing = byKid.get(entry.kid);
      if (existing && existing.fingerprint !== entry.fingerprint) {
        this.logger.warn(
          { kid: entry.kid },
          'JWKS publishes conflicting keys under one kid; tokens naming it are refused',
        );
        byKid.set(entry.kid, { ...existing, status: 'conflict', key: undefined });
      } else if (!existing) {
        byKid.set(entry.kid, entry);
      }
    }
    this.byKid = byKid;
    this.signingKeys = [...byKid.values(), ...unnamed].filter((e) => e.status === 'ok');
  }

  private parse(raw: unknown): KeyEntry | undefined {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const jwk = raw as Record<string, unknown>;
    const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
    const base = { kid, alg: typeof jwk.alg === 'string' ? jwk.alg : undefined, fingerprint: fingerprint(jwk) };
    if (jwk.d !== undefined || jwk.kty === 'oct') {
      this.logger.warn({ kid }, 'JWKS entry ignored: not a public asymmetric key');
      return undefined;
    }
    // A missing `use` is allowed (RFC 7517 section 4.2 makes it optional).
    if (jwk.use !== undefined && jwk.use !== 'sig') return { ...base, status: 'enc' };
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      this.logger.warn({ kid }, 'JWKS entry ignored: not a valid public key');
      return undefined;
    }
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && (bits ?? 0) < MIN_RSA_BITS) {
      this.logger.warn({ kid, bits }, `JWKS key dropped: RSA keys under ${MIN_RSA_BITS} bits are insecure`);
      return { ...base, status: 'insecure' };
    }
    return { ...base, status: 'ok', key };
  }

  private async resolveJwksUri(): Promise<string> {
    if (this.jwksUri) return this.jwksUri;
    const { issuer, jwksUri } = this.oidc;
    if (jwksUri) return (this.jwksUri = jwksUri);
    if (!issuer) throw new Error('No issuer configured');
    const discovery = (await this.fetchJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)) as Record<
      string,
      unknown
    >;
    // OpenID Connect Discovery section 4.3: the document's issuer must be exactly ours.
    if (discovery.issuer !== issuer)
      throw new IssuerMisconfiguration('discovery_issuer_mismatch', issuer, String(discovery.issuer).slice(0, 300));
    if (typeof discovery.jwks_uri !== 'string') throw new Error('Discovery document has no jwks_uri');
    return (this.jwksUri = discovery.jwks_uri);
  }

  private async fetchJson(url: string): Promise<unknown> {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(this.oidc.httpTimeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    return response.json();
  }
}
