import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, type StrategyOptionsWithRequest } from 'passport-jwt';
import { AuthFailure } from './auth-failure';
import { IssuerRegistry, type ResolvedIssuer, type TrustedIssuer } from './issuer-registry';
import { installEdDsaVerifier } from './eddsa-verifier';
import { decodeJwsHeader } from './jws-header';
import { assertAccessTokenHeader, assertNotIdToken } from './token-use';
import type { Principal } from './principal';
import { tenantForIssuer } from './tenant-for-issuer';
import { VerifiedTokenCache } from './verified-token-cache';

/** Name of the passport strategy; the platform guard authenticates with it. */
export const JWT_BEARER_STRATEGY = 'platform-jwt-bearer';

/** Where the guard leaves the already-parsed bearer token for the strategy's extractor. */
export const BEARER_TOKEN = Symbol('platform.bearerToken');

/** Where the key provider leaves what the unverified token chose, for {@link JwtBearerStrategy.validate}. */
const CHOSEN = Symbol('platform.chosenIssuer');

/** The issuer entry a token's unverified `iss` chose its key from, and the `kid` it named. */
interface Chosen {
  resolved: ResolvedIssuer;
  kid: string | undefined;
}

type WithToken = { [BEARER_TOKEN]?: string; [CHOSEN]?: Chosen };

/** Maps a token verification error to a stable reason code, by error class (see jwt-errors.ts). */
export { reasonForJwtError } from './jwt-errors';

/**
 * passport-jwt strategy that validates platform access tokens (RFC 9068, RFC 8725), for every
 * trusted issuer with one strategy: the token's exact `iss` (read unverified, only to choose)
 * picks its issuer in {@link IssuerRegistry} before any key lookup; then `alg` from that issuer's
 * pinned allow-list (so `none` and HS* never reach a verifier), the key by `kid` from that
 * issuer's own key store as a cached KeyObject, signature, `iss` exactly (passport-jwt, against
 * every accepted `iss`), `exp`/`nbf` with the largest tolerance; then in {@link validate} the
 * issuer's own settings: `aud` (except Cognito, bound by `client_id`), its clock tolerance,
 * lifetime cap, claim mapping and the tenants it may speak for.
 *
 * One strategy rather than one per issuer: passport's strategies are per process and the guard
 * names one; choosing the issuer inside keeps the guard unchanged, and everything passport-jwt
 * cannot check per issuer is checked in `validate` against the same issuer that chose the key.
 *
 * Successful verifications are remembered in {@link VerifiedTokenCache} until the token expires
 * (never longer): the guard looks a token up there first, and calls passport (this strategy) only
 * on a miss, so a repeated token skips the signature check and this strategy looks nothing up.
 */
@Injectable()
export class JwtBearerStrategy extends PassportStrategy(Strategy, JWT_BEARER_STRATEGY) {
  constructor(
    private readonly registry: IssuerRegistry,
    private readonly cache: VerifiedTokenCache,
  ) {
    const options: StrategyOptionsWithRequest = {
      passReqToCallback: true,
      jwtFromRequest: (req: WithToken) => req[BEARER_TOKEN] ?? null,
      // jsonwebtoken 9 accepts a KeyObject; the typings only name string | Buffer.
      secretOrKeyProvider: (req: WithToken, rawJwt: string, done: (err: unknown, key?: never) => void) => {
        let header;
        let trusted: TrustedIssuer;
        try {
          header = decodeJwsHeader(rawJwt);
          const resolved = registry.forToken(rawJwt);
          trusted = resolved.trusted;
          req[CHOSEN] = { resolved, kid: header.kid };
          // RFC 8725 section 3.1: the allow-list is checked before a key is even looked up.
          if (!trusted.config.algorithms.includes(header.alg))
            throw new AuthFailure('alg_not_allowed', { alg: header.alg });
          assertAccessTokenHeader(header.typ, trusted.config.requireAccessTokenType);
        } catch (err) {
          return done(err);
        }
        trusted.keys.keyFor(header).then((key) => done(null, key as never), done);
      },
      // Never "issuer validation off": the exact list of every accepted iss (see validate for which one).
      issuer: registry.acceptedIssuers(),
      algorithms: registry.algorithms() as StrategyOptionsWithRequest['algorithms'],
      jsonWebTokenOptions: { clockTolerance: registry.maxClockToleranceSeconds() },
    };
    super(options);
    installEdDsaVerifier();
  }

  /**
   * The issuer's own checks, then claim mapping and the tenants the issuer may speak for.
   * @throws AuthFailure `aud_mismatch`, `expired`, `not_yet_valid`, `missing_exp`, `iat_in_future`,
   *   `lifetime_exceeded`, `malformed_claims`, `wrong_token_use`, `tenant_not_allowed_for_issuer`, and the mapper's reasons
   */
  validate(req: WithToken, payload: unknown): Principal {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      throw new AuthFailure('malformed_claims');
    const claims = payload as Record<string, unknown>;
    const chosen = req[CHOSEN];
    req[CHOSEN] = undefined;
    // The verified iss must be the very one that chose the key (passport-jwt has verified it is an
    // accepted one): the choice read the token unverified, and not necessarily as JSON.parse does.
    const resolved = typeof claims.iss === 'string' ? this.registry.resolve(claims.iss) : undefined;
    if (!resolved || resolved !== chosen?.resolved) throw new AuthFailure('iss_mismatch');
    const { clockToleranceSeconds, maxTokenLifetimeSeconds, audiences, preset } = resolved.trusted.config;
    if (preset !== 'cognito') assertAudience(claims.aud, audiences);
    const now = Math.floor(Date.now() / 1000);
    // RFC 9068 section 2.2: exp is required; a token without one would be valid forever.
    if (claims.exp === undefined) throw new AuthFailure('missing_exp');
    // passport-jwt used the largest tolerance of all issuers; this issuer's own may be smaller.
    if (typeof claims.exp === 'number' && now > claims.exp + clockToleranceSeconds) throw new AuthFailure('expired');
    if (typeof claims.nbf === 'number' && claims.nbf > now + clockToleranceSeconds)
      throw new AuthFailure('not_yet_valid');
    if (claims.iat !== undefined && typeof claims.iat !== 'number')
      throw new AuthFailure('malformed_claims', { claim: 'iat' });
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
        throw new AuthFailure('lifetime_exceeded', {
          maxSeconds: maxTokenLifetimeSeconds,
          lifetimeSeconds: Math.max(lifetime, remaining),
        });
      }
    }
    assertNotIdToken(claims);
    const principal = tenantForIssuer(resolved.trusted.mapper.map(claims), claims, resolved);
    const token = req[BEARER_TOKEN];
    if (token !== undefined) this.cache.set(token, principal, chosen.kid);
    return principal;
  }
}

/**
 * `aud` (a string or a list) must name one of the issuer's accepted audiences.
 * @throws AuthFailure `aud_mismatch` with the expected audiences
 */
function assertAudience(aud: unknown, accepted: string[]): void {
  const presented = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!presented.some((a) => typeof a === 'string' && accepted.includes(a)))
    throw new AuthFailure('aud_mismatch', { expectedAudiences: accepted });
}
