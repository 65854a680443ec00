import { AuthFailure } from './auth-failure';

/** RFC 6750 section 2.1 b64token: the only characters a bearer token may contain. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Extracts the bearer token from an `Authorization` header value (RFC 6750 section 2.1).
 * The scheme is case-insensitive (RFC 9110 section 11.1); spaces between scheme and token and
 * trailing whitespace are tolerated; anything after the token is refused, so that a proxy and the
 * platform can never read different tokens from one header. Tokens in the query string are
 * never read.
 *
 * @returns the token
 * @throws AuthFailure `missing_token`, `unsupported_scheme`, `malformed_authorization` or `malformed_token`
 */
export function parseBearerToken(header: string | string[] | undefined): string {
  if (Array.isArray(header)) throw new AuthFailure('malformed_authorization');
  const value = header?.trim();
  if (!value) throw new AuthFailure('missing_token');
  const space = value.search(/[ \t]/);
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') throw new AuthFailure('unsupported_scheme');
  const token = space === -1 ? '' : value.slice(space).trimStart();
  if (token === '') throw new AuthFailure('missing_token');
  if (/\s/.test(token)) throw new AuthFailure('malformed_authorization');
  if (!B64TOKEN.test(token)) throw new AuthFailure('malformed_token');
  return token;
}
