import { Injectable, OnModuleInit } from '@nestjs/common';
import { concreteIssuers, ENTRA_TENANT_PLACEHOLDER, PlatformConfig, type IssuerConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { AuthFailure } from './auth-failure';
import { ClaimMapper } from './claim-mapper';
import { IssuerKeyStore } from './issuer-key-store';
import { unverifiedIssuer } from './unverified-issuer';

/** One trusted issuer: its settings, its own key store and its own claim mapper. */
export interface TrustedIssuer {
  config: IssuerConfig;
  keys: IssuerKeyStore;
  mapper: ClaimMapper;
}

/** What an exact `iss` resolved to: the issuer, and for an Entra multi-tenant issuer the directory id its `iss` names. */
export interface ResolvedIssuer {
  trusted: TrustedIssuer;
  /** Entra ID multi-tenant only: the `tid` embedded in the token's `iss`. */
  directory?: string;
}

/**
 * Every issuer the platform trusts (`OIDC_ISSUERS_FILE`, or the one `OIDC_ISSUER`), each with its
 * own {@link IssuerKeyStore}, so keys, caches and refetch limits are per issuer. A token is matched
 * to its issuer by exact `iss` (an Entra multi-tenant entry contributes one exact `iss` per
 * allow-listed directory; the `{tenantid}` placeholder itself is never one) before any key is looked up.
 */
@Injectable()
export class IssuerRegistry implements OnModuleInit {
  readonly issuers: readonly TrustedIssuer[];
  private readonly byIss = new Map<string, ResolvedIssuer>();

  constructor(config: PlatformConfig, metrics: PlatformMetrics) {
    const configs =
      config.issuers.length > 0
        ? config.issuers
        : config.oidc.issuer
          ? [{ ...config.oidc, issuer: config.oidc.issuer }]
          : [];
    this.issuers = configs.map((issuer) => ({
      config: issuer,
      keys: new IssuerKeyStore(config, metrics, issuer),
      mapper: new ClaimMapper({
        preset: issuer.preset,
        apiClientIds: [...issuer.audiences, ...issuer.clientIds],
        acceptedClientIds: issuer.clientIds,
        claimNamespace: issuer.claimNamespace,
        tenantClaim: issuer.tenantClaim,
        rolesClaim: issuer.rolesClaim,
        groupsClaim: issuer.groupsClaim,
        claimDelimiter: issuer.claimDelimiter,
      }),
    }));
    for (const trusted of this.issuers) {
      if (!trusted.config.entraTenants) this.byIss.set(trusted.config.issuer, { trusted });
      else
        for (const tid of Object.keys(trusted.config.entraTenants))
          this.byIss.set(trusted.config.issuer.replace(ENTRA_TENANT_PLACEHOLDER, tid), { trusted, directory: tid });
    }
  }

  /**
   * Loads every issuer's keys. An unreachable issuer does not stop the start (readiness says so).
   * @throws IssuerMisconfiguration in production, naming the configured and the published issuer
   */
  async onModuleInit(): Promise<void> {
    // One after another: the first misconfiguration is the one a failed start reports.
    for (const trusted of this.issuers) await trusted.keys.onModuleInit();
  }

  /** The issuer of an exact `iss`, or undefined (untrusted; also the Entra placeholder and unlisted directories). */
  resolve(iss: string): ResolvedIssuer | undefined {
    return this.byIss.get(iss);
  }

  /**
   * The issuer of a token, from its unverified `iss` ({@link unverifiedIssuer}): only to choose
   * which keys and settings verify it; the verified `iss` must resolve to the same entry.
   * @throws AuthFailure `malformed_token` (no JSON payload), `iss_mismatch` (untrusted `iss`)
   */
  forToken(token: string): ResolvedIssuer {
    const iss = unverifiedIssuer(token);
    const resolved = typeof iss === 'string' ? this.byIss.get(iss) : undefined;
    if (resolved) return resolved;
    const accepted = this.acceptedIssuers();
    throw new AuthFailure('iss_mismatch', {
      expectedIssuer: accepted.length === 1 ? accepted[0] : accepted.slice(0, 20),
      tokenIssuer: typeof iss === 'string' ? iss.slice(0, 200) : null,
    });
  }

  /** Every exact `iss` accepted, in configuration order (RFC 9728 `authorization_servers`). */
  acceptedIssuers(): string[] {
    return this.issuers.flatMap((t) => concreteIssuers(t.config));
  }

  /** Every algorithm some issuer allows (each token is held to its own issuer's list before key lookup). */
  algorithms(): string[] {
    return [...new Set(this.issuers.flatMap((t) => t.config.algorithms))];
  }

  /** The largest clock tolerance of any issuer, in seconds (each token is then held to its own issuer's). */
  maxClockToleranceSeconds(): number {
    return Math.max(0, ...this.issuers.map((t) => t.config.clockToleranceSeconds));
  }

  /** The first issuer's key store (the single-issuer case; tests). @throws Error when no issuer is configured */
  primary(): IssuerKeyStore {
    const first = this.issuers[0];
    if (!first) throw new Error('No issuer configured');
    return first.keys;
  }
}
