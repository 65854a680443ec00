import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, type StrategyOptionsWithRequest } from 'passport-jwt';
import { PlatformConfig } from '@platform/config';
import { AuthFailure } from './auth-failure';
import { ClaimMapper } from './claim-mapper';
import { IssuerKeyStore } from './issuer-key-store';
import { installEdDsaVerifier } from './eddsa-verifier';
import { decodeJwsHeader } from './jws-header';
import { assertAccessTokenHeader, assertNotIdToken } from './token-use';
import type { Principal } from './principal';
import { VerifiedTokenCache } from './verified-token-cache';

/** Name of the passport strategy; the platform guard authenticates with it. */
export const JWT_BEARER_STRATEGY = 'platform-jwt-bearer';

/** Where the guard leaves the already-parsed bearer token for the strategy's extractor. */
export const BEARER_TOKEN = Symbol('platform.bearerToken');

type WithToken = { [BEARER_TOKEN]?: string };

/** Maps a token verification error to a stable reason code, by error class (see jwt-errors.ts). */
export { reasonForJwtError } from './jwt-errors';

/**
 * passport-jwt strategy that validates platform access tokens (RFC 9068, RFC 8725):
 * `alg` from a pinned asymmetric allow-list (checked before any key lookup, so `none` and HS*
 * never reach a verifier), the key by `kid` from {@link IssuerKeyStore} as a cached KeyObject,
 * signature, `iss` exactly, `aud` (except for Cognito, whose access tokens have none and are bound
 * by `client_id` instead), `exp`/`nbf`/`iat` with the configured clock tolerance, then claim mapping.
 *
 * Successful verifications are remembered in {@link VerifiedTokenCache} until the token expires
 * (never longer), so a repeated token skips the signature check.
 */
@Injectable()
export class JwtBearerStrategy extends PassportStrategy(Strategy, JWT_BEARER_STRATEGY) {
  private readonly mapper: ClaimMapper;

  constructor(
    private readonly config: PlatformConfig,
    keys: IssuerKeyStore,
    private readonly cache: VerifiedTokenCache,
  ) {
    const oidc = config.oidc;
    const options: StrategyOptionsWithRequest = {
      passReqToCallback: true,
      jwtFromRequest: (req: WithToken) => req[BEARER_TOKEN] ?? null,
      // jsonwebtoken 9 accepts a KeyObject; the typings only name string | Buffer.
      secretOrKeyProvider: (_req: unknown, rawJwt: string, done: (err: unknown, key?: never) => void) => {
        let header;
        try {
          header = decodeJwsHeader(rawJwt);
          // RFC 8725 section 3.1: the allow-list is checked before a key is even looked up.
          if (!oidc.algorithms.includes(header.alg)) throw new AuthFailure('alg_not_allowed', { alg: header.alg });
          assertAccessTokenHeader(header.typ, oidc.requireAccessTokenType);
        } catch (err) {
          return done(err);
        }
        keys.keyFor(header).then((key) => done(null, key as never), done);
      },
      issuer: oidc.issuer,
      audience: oidc.preset === 'cognito' ? undefined : oidc.audiences,
      algorithms: oidc.algorithms as StrategyOptionsWithRequest['algorithms'],
      jsonWebTokenOptions: { clockTolerance: oidc.clockToleranceSeconds },
    };
    super(options);
    installEdDsaVerifier();
    this.mapper = new ClaimMapper({
      preset: oidc.preset,
      apiClientIds: [...oidc.audiences, ...oidc.clientIds],
      acceptedClientIds: oidc.clientIds,
      claimNamespace: oidc.claimNamespace,
      tenantClaim: oidc.tenantClaim,
      rolesClaim: oidc.rolesClaim,
      groupsClaim: oidc.groupsClaim,
      claimDelimiter: oidc.claimDelimiter,
    });
  }

  /** Serves a remembered verification when there is one; otherwise runs passport-jwt. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override authenticate(req: any, options?: unknown): void {
    const token = (req as WithToken)[BEARER_TOKEN];
    const cached = token === undefined ? undefined : this.cache.get(token);
    if (cached) return (this as unknown as { success(user: Principal): void }).success(cached);
    return (Strategy.prototype.authenticate as (this: unknown, req: unknown, options?: unknown) => void).call(this, req, options);
  }

  /**
   * Claim checks that jsonwebtoken leaves out, then claim mapping.
   * @throws AuthFailure `missing_exp`, `iat_in_future`, `lifetime_exceeded`, `malformed_claims`, `wrong_token_use`, and the mapper's reasons
   */
  validate(req: WithToken, payload: unknown): Principal {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new AuthFailure('malformed_claims');
    const claims = payload as Record<string, unknown>;
    const { clockToleranceSeconds, maxTokenLifetimeSeconds } = this.config.oidc;
    const now = Math.floor(Date.now() / 1000);
    // RFC 9068 section 2.2: exp is required; a token without one would be valid forever.
    if (claims.exp === undefined) throw new AuthFailure('missing_exp');
    if (claims.iat !== undefined && typeof claims.iat !== 'number') throw new AuthFailure('malformed_claims', { claim: 'iat' });
    if (typeof claims.iat === 'number' && claims.iat > now + clockToleranceSeconds) {
      throw new AuthFailure('iat_in_future', { iat: claims.iat, now });
    }
    const exp = claims.exp as number;
    if (maxTokenLifetimeSeconds > 0) {
      // Both the lifetime the issuer declared and what is left of it now: a token with an old iat
      // or none cannot be valid for longer than the cap from now on (the tolerance covers clock skew).
      const lifetime = exp - (typeof claims.iat === 'number' ? claims.iat : now);
      const remaining = exp - now;
      if (lifetime > maxTokenLifetimeSeconds || remaining > maxTokenLifetimeSeconds + clockToleranceSeconds) {
        throw new AuthFailure('lifetime_exceeded', { maxSeconds: maxTokenLifetimeSeconds, lifetimeSeconds: Math.max(lifetime, remaining) });
      }
    }
    assertNotIdToken(claims);
    const principal = this.mapper.map(claims);
    const token = req[BEARER_TOKEN];
    if (token !== undefined) this.cache.set(token, principal, decodeJwsHeader(token).kid);
    return principal;
  }
}
