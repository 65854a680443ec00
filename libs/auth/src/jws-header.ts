import { AuthFailure } from './auth-failure';

/** The parts of a JWS protected header (RFC 7515 section 4.1) the platform looks at. */
export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
}

/** Three base64url segments, the first two not empty (the signature may be: refused later, as unsigned). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The last token decoded and its header. A first-seen token's header is read twice in one
 * request (the key provider, then the verifier's algorithm dispatch once the key is found): the
 * second read is this comparison, unless another token was decoded meanwhile (the key lookup is
 * asynchronous). The cache entry's `kid` is the one the key provider read. Only a success is kept.
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
  // One pass over the token, no segment strings: this runs once per first-seen token.
  if (!COMPACT_JWS.test(token)) throw new AuthFailure('malformed_token');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
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
