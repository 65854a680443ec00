import type { KeyObject } from 'node:crypto';
import { JsonWebTokenError, NotBeforeError, TokenExpiredError } from 'jsonwebtoken';
import { AuthFailure } from './auth-failure';
import { checkRegisteredClaims, type RegisteredClaimOptions } from './registered-claims';

/** passport-jwt's verifier signature (`JwtStrategy.JwtVerifier`): jsonwebtoken's `verify` with a callback. */
export type JwtVerifier = (
  token: string,
  key: KeyObject,
  options: object,
  callback: (err: unknown, payload?: unknown) => void,
) => void;

/**
 * Runs jsonwebtoken for what only it does (the signature, by the key and algorithms passport-jwt
 * passes) and checks the registered claims itself ({@link checkRegisteredClaims}), so every
 * failure carries a reason by construction rather than by parsing jsonwebtoken's messages:
 * - a token without a signature is `malformed_token` (checked first, as jsonwebtoken does);
 * - the header, the algorithm allow-list and the key's type were checked by the strategy's key
 *   provider before this runs, so a {@link JsonWebTokenError} of jsonwebtoken (not one of its
 *   time subclasses) can only be the signature's: `invalid_signature`;
 * - any other error (e.g. an unusable key) is passed on unchanged (`invalid_token`).
 */
export function verifyWithJsonwebtoken(
  jsonwebtoken: JwtVerifier,
  token: string,
  key: KeyObject,
  options: RegisteredClaimOptions,
  callback: (err: unknown, payload?: unknown) => void,
): void {
  if (emptyThirdSegment(token)) return callback(new AuthFailure('malformed_token'));
  const { issuer, audience, ...signatureOnly } = options;
  jsonwebtoken(token, key, { ...signatureOnly, ignoreExpiration: true, ignoreNotBefore: true }, (err, payload) => {
    // jws parses a `typ: JWT` payload before anything else: one that is not JSON is malformed.
    if (err instanceof SyntaxError) return callback(new AuthFailure('malformed_token'));
    if (err)
      return callback(
        err instanceof JsonWebTokenError && !(err instanceof TokenExpiredError) && !(err instanceof NotBeforeError)
          ? new AuthFailure('invalid_signature')
          : err,
      );
    try {
      checkRegisteredClaims(payload, { issuer, audience, clockTolerance: options.clockTolerance });
    } catch (failure) {
      return callback(failure);
    }
    callback(null, payload);
  });
}

/** `token.split('.')[2] === ''` without splitting: a second dot followed by the end or by another dot. */
export function emptyThirdSegment(token: string): boolean {
  const second = token.indexOf('.', token.indexOf('.') + 1);
  return second !== -1 && (second + 1 === token.length || token[second + 1] === '.');
}
