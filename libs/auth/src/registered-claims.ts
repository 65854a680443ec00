import { AuthFailure } from './auth-failure';

/** The verifier options passport-jwt passes on (`issuer`, `audience`, `jsonWebTokenOptions.clockTolerance`). */
export interface RegisteredClaimOptions {
  issuer?: string | string[];
  audience?: string | string[];
  /** Seconds of clock skew tolerated on `nbf` and `exp`. */
  clockTolerance?: number;
}

/**
 * The registered-claim checks of jsonwebtoken's `verify` (RFC 7519 section 4.1), in its order and
 * with its semantics, but failing with the platform's own reasons: `nbf` (`malformed_claims` when
 * not a number, `not_yet_valid` beyond the tolerance), `exp` (`malformed_claims`, `expired` when
 * now >= exp + tolerance), `aud` (any token audience among the expected ones, else `aud_mismatch`),
 * `iss` (exactly one of the expected issuers, else `iss_mismatch`). Run after the signature check.
 *
 * @param payload the verified payload (a non-object payload has none of these claims)
 * @param nowSeconds the current time, in epoch seconds
 * @throws AuthFailure with the reasons above
 */
export function checkRegisteredClaims(
  payload: unknown,
  options: RegisteredClaimOptions,
  nowSeconds = Math.floor(Date.now() / 1000),
): void {
  const claims = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  const tolerance = options.clockTolerance ?? 0;
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== 'number') throw new AuthFailure('malformed_claims');
    if (claims.nbf > nowSeconds + tolerance) throw new AuthFailure('not_yet_valid');
  }
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== 'number') throw new AuthFailure('malformed_claims');
    if (nowSeconds >= claims.exp + tolerance) throw new AuthFailure('expired');
  }
  if (options.audience) {
    const expected = options.audience;
    const presented = Array.isArray(claims.aud) ? (claims.aud as unknown[]) : [claims.aud];
    if (!presented.some((aud) => isOneOf(aud, expected))) throw new AuthFailure('aud_mismatch');
  }
  if (options.issuer && !isOneOf(claims.iss, options.issuer)) throw new AuthFailure('iss_mismatch');
}

/** `value` is `expected`, or one of them (without building a list: `flat()` costs more than the check). */
function isOneOf(value: unknown, expected: string | string[]): boolean {
  return typeof expected === 'string' ? value === expected : expected.includes(value as string);
}
