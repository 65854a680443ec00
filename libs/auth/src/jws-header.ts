import { AuthFailure } from './auth-failure';

/** The parts of a JWS protected header (RFC 7515 section 4.1) the platform looks at. */
export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes the protected header of a compact JWS without trusting it. Refuses anything that is not
 * three base64url segments with a JSON object header naming a string `alg`, and any `crit`
 * header (RFC 7515 section 4.1.11: the platform understands no extension).
 *
 * @throws AuthFailure `malformed_token`
 */
export function decodeJwsHeader(token: string): JwsHeader {
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
  return { alg, kid, typ };
}
