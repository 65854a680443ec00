import { errors, jwtVerify } from 'jose';
import type { KeyObject } from 'node:crypto';
import { Strategy } from 'passport-jwt';
import { AuthFailure, type AuthFailureReason } from './auth-failure';
import { decodeJwsHeader } from './jws-header';
import { verifyWithJsonwebtoken } from './jwt-verifier';

type Callback = (err: unknown, payload?: unknown) => void;
interface JwtVerifyOptions {
  issuer?: string;
  audience?: string | string[];
  clockTolerance?: number;
}
type Verifier = (token: string, key: KeyObject, options: JwtVerifyOptions, callback: Callback) => void;

/** The same reasons as jsonwebtoken's failures map to (see reasonForJwtError). */
function reasonForJoseError(err: unknown): AuthFailureReason {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'not_yet_valid';
    if (err.claim === 'aud') return 'aud_mismatch';
    if (err.claim === 'iss') return 'iss_mismatch';
    return 'malformed_claims';
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'invalid_signature';
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return 'malformed_token';
  return 'invalid_token';
}

let installed = false;

/**
 * passport-jwt verifies with jsonwebtoken, which has no EdDSA (RFC 8037). This routes EdDSA tokens
 * to jose with the same checks (issuer, audience, exp/nbf with the clock tolerance) and leaves
 * every other algorithm to jsonwebtoken (through {@link verifyWithJsonwebtoken}, which gives its failures
 * their reasons). passport-jwt exposes its verifier as the static
 * `JwtStrategy.JwtVerifier`; installing twice is a no-op.
 */
export function installEdDsaVerifier(): void {
  if (installed) return;
  installed = true;
  const holder = Strategy as unknown as { JwtVerifier: Verifier };
  const jsonwebtokenVerifier = holder.JwtVerifier;
  holder.JwtVerifier = (token, key, options, callback) => {
    let alg: string;
    try {
      alg = decodeJwsHeader(token).alg;
    } catch (err) {
      return callback(err);
    }
    if (alg !== 'EdDSA') return verifyWithJsonwebtoken(jsonwebtokenVerifier, token, key, options, callback);
    jwtVerify(token, key, {
      algorithms: ['EdDSA'],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: options.clockTolerance,
    }).then(
      (result) => callback(null, result.payload),
      (err: unknown) => callback(new AuthFailure(reasonForJoseError(err))),
    );
  };
}
