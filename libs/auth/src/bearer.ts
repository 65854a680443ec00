import { AuthFailure } from './auth-failure';

/** RFC 6750 section 2.1 b64token (= RFC 9449's token68): the only characters an access token may contain. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** An access token and the scheme it came with: `Bearer` (RFC 6750) or `DPoP` (RFC 9449 section 7.1). */
export interface PresentedToken {
  scheme: 'Bearer' | 'DPoP';
  token: string;
}

/**
 * Extracts the access token from an `Authorization` header value, with the `Bearer` (RFC 6750
 * section 2.1) or the `DPoP` (RFC 9449 section 7.1) scheme. The scheme is case-insensitive
 * (RFC 9110 section 11.1); spaces between scheme and token and trailing whitespace are tolerated;
 * anything after the token is refused, so that a proxy and the platform can never read different
 * tokens from one header. Tokens in the query string are never read.
 *
 * @throws AuthFailure `missing_token`, `unsupported_scheme`, `malformed_authorization` or `malformed_token`
 */
export function parseAuthorization(header: string | string[] | undefined): PresentedToken {
  if (Array.isArray(header)) throw new AuthFailure('malformed_authorization');
  const value = header?.trim();
  if (!value) throw new AuthFailure('missing_token');
  const space = value.search(/[ \t]/);
  const name = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  const scheme = name === 'bearer' ? 'Bearer' : name === 'dpop' ? 'DPoP' : undefined;
  if (scheme === undefined) throw new AuthFailure('unsupported_scheme');
  const token = space === -1 ? '' : value.slice(space).trimStart();
  if (token === '') throw new AuthFailure('missing_token');
  // One pattern for a valid token; whitespace (malformed_authorization) is told apart only once it fails.
  if (!B64TOKEN.test(token)) throw new AuthFailure(/\s/.test(token) ? 'malformed_authorization' : 'malformed_token');
  return { scheme, token };
}

/**
 * {@link parseAuthorization} for the `Bearer` scheme only.
 * @returns the token
 * @throws AuthFailure as parseAuthorization, and `unsupported_scheme` for `DPoP`
 */
export function parseBearerToken(header: string | string[] | undefined): string {
  const presented = parseAuthorization(header);
  if (presented.scheme !== 'Bearer') throw new AuthFailure('unsupported_scheme');
  return presented.token;
}
