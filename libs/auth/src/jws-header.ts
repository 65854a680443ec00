import { AuthFailure } from './auth-failure';

/** The parts of a JWS protected header (RFC 7515 section 4.1) the platform looks at. */
export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The last token decoded and its header. A first-seen token's header is read three times in one
 * request (the verifier's algorithm dispatch, the key provider, the cache entry's `kid`): the
 * second read follows the first at once and is this comparison; the third comes after the key
 * lookup and the signature check, so under load another token may have been decoded meanwhile and
 * it decodes again. Only a success is kept (the token is also in the verified-token cache).
 */
let last: { token: string; header: Readonly<JwsHeader> } | undefined;

/**
 * Decodes the protected header of a compact JWS without trusting it. Refuses anything that is not
 * three base64url segments with a JSON object header naming a string `alg`, and any `crit`
 * header (RFC 7515 section 4.1.11: the platform understands no extension). The same token twice
 * in a row gives the same frozen header without decoding again.
 *
 * @throws AuthFailure `malformed_token`
 */
export function decodeJwsHeader(token: string): Readonly<JwsHeader> {
  if (last !== undefined && last.token === token) return last.header;
  const header = decode(token);
  last = { token, header };
  return header;
}

function decode(token: string): Readonly<JwsHeader> {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p)) || parts[0] === '' || parts[1] === '') {
    throw new AuthFailure('malformed_token');
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  } catch {
    throw new AuthFailure('malformed_token');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new AuthFailure('malformed_token');
  const { alg, kid, typ, crit } = header as Record<string, unknown>;
  if (typeof alg !== 'string' || alg === '') throw new AuthFailure('malformed_token');
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) throw new AuthFailure('malformed_token');
  if (typ !== undefined && typeof typ !== 'string') throw new AuthFailure('malformed_token');
  if (crit !== undefined) throw new AuthFailure('malformed_token', { crit: true });
  return Object.freeze({ alg, kid, typ });
}
