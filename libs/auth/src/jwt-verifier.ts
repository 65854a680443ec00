import { KeyObject, verify as verifySignature } from 'node:crypto';
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

/** jws's test of the compact serialization (three base64url segments, the signature possibly empty). */
const COMPACT_JWS = /^[a-zA-Z0-9\-_]+?\.[a-zA-Z0-9\-_]+?\.([a-zA-Z0-9\-_]+)?$/;
/** The verifier options passport-jwt sets (`_verifOpts`) plus the two this file adds: any other one goes to jsonwebtoken. */
const DIRECT_OPTIONS = new Set(['algorithms', 'clockTolerance', 'ignoreExpiration', 'ignoreNotBefore']);

/**
 * RS256 with an RSA public key, by far the most common case, checked with node:crypto directly
 * exactly as jsonwebtoken 9 (through jws and jwa) would: the compact form, the header's `alg`
 * RS256 and on the allow-list, a public `rsa` key, the RSASSA-PKCS1-v1_5 SHA-256 signature over
 * the first two segments, then a payload that parses to a JSON object. It spares jsonwebtoken's
 * repeated work (the header parsed three times, the format regex twice, a Verify object): about
 * a quarter of a first-seen token's verification besides the RSA operation itself.
 *
 * @returns the payload when the signature is valid, `false` when it is not, `undefined` when the
 *   token, key or options are of any other kind (jsonwebtoken then decides, with its own errors)
 */
function verifyRs256Directly(
  token: string,
  key: KeyObject,
  options: Record<string, unknown>,
): Record<string, unknown> | false | undefined {
  if (!(key instanceof KeyObject) || key.type !== 'public' || key.asymmetricKeyType !== 'rsa') return undefined;
  const algorithms = options.algorithms;
  if (!Array.isArray(algorithms) || !algorithms.includes('RS256')) return undefined;
  for (const name in options) if (!DIRECT_OPTIONS.has(name)) return undefined;
  if (!COMPACT_JWS.test(token)) return undefined;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, first), 'base64url').toString('binary'));
    payload = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== 'RS256') return undefined;
  if (typeof payload !== 'object' || payload === null) return undefined;
  const signature = Buffer.from(token.slice(second + 1), 'base64url');
  if (!verifySignature('RSA-SHA256', Buffer.from(token.slice(0, second)), key, signature)) return false;
  return payload as Record<string, unknown>;
}

/**
 * Checks the signature (RS256 with an RSA key directly, {@link verifyRs256Directly}; any other
 * token, key or options with jsonwebtoken, by the key and algorithms passport-jwt passes) and
 * checks the registered claims itself ({@link checkRegisteredClaims}), so every
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
  if (token.split('.')[2] === '') return callback(new AuthFailure('malformed_token'));
  const { issuer, audience, ...signatureOnly } = options;
  const direct = verifyRs256Directly(token, key, signatureOnly);
  if (direct === false) return callback(new AuthFailure('invalid_signature'));
  if (direct !== undefined) {
    try {
      checkRegisteredClaims(direct, { issuer, audience, clockTolerance: options.clockTolerance });
    } catch (failure) {
      return callback(failure);
    }
    return callback(null, direct);
  }
  jsonwebtoken(token, key, { ...signatureOnly, ignoreExpiration: true, ignoreNotBefore: true }, (err, payload) => {
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
