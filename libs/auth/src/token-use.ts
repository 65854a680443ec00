import { AuthFailure } from './auth-failure';

/** JWS `typ` values of access tokens: RFC 9068's `at+jwt` (short or full media type), and the plain `JWT` most providers send. */
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt', 'jwt']);
/** RFC 9068 section 2.1: the only `typ` of an access token when its issuer types them. */
const RFC9068_TYPES = new Set(['at+jwt', 'application/at+jwt']);

/**
 * Refuses a JWS header that does not belong to an access token (RFC 8725 section 3.11, RFC 9068
 * section 4): a `typ` other than `at+jwt`/`JWT`/absent (`id+jwt`, `logout+jwt`, `dpop+jwt`, ...);
 * and, when `requireAtJwt` (the issuer types its access tokens), anything but `at+jwt`. Media types
 * compare case-insensitively (RFC 2045). Checked before any key lookup.
 *
 * @throws AuthFailure `wrong_token_use` with the offending `typ` (a header value, never a claim)
 */
export function assertAccessTokenHeader(typ: string | undefined, requireAtJwt: boolean): void {
  const normalized = typ?.toLowerCase();
  if (
    requireAtJwt
      ? normalized === undefined || !RFC9068_TYPES.has(normalized)
      : normalized !== undefined && !ACCESS_TOKEN_TYPES.has(normalized)
  ) {
    throw new AuthFailure('wrong_token_use', { typ: typ ?? null, expectedTyp: requireAtJwt ? 'at+jwt' : 'at+jwt|JWT' });
  }
}

/**
 * Refuses the claims an OpenID Connect ID token has and an access token lacks, so that an ID token
 * carrying the API's audience (implicit flows, some providers) is never a credential:
 * - `nonce` (OIDC Core 3.1.2.1: echoed into the ID token only);
 * - `at_hash` / `c_hash` (OIDC Core 3.1.3.6, 3.3.2.11: ID-token only);
 * - `auth_time` without `scope` or `scp`: every access token names what it grants, while an ID
 *   token has no scope (access tokens of people carry both; Okta, Cognito, Keycloak).
 *
 * @throws AuthFailure `wrong_token_use` naming the marker (`marker`), never its value
 */
export function assertNotIdToken(claims: Record<string, unknown>): void {
  if (claims.nonce !== undefined) throw new AuthFailure('wrong_token_use', { marker: 'nonce' });
  if (claims.at_hash !== undefined) throw new AuthFailure('wrong_token_use', { marker: 'at_hash' });
  if (claims.c_hash !== undefined) throw new AuthFailure('wrong_token_use', { marker: 'c_hash' });
  if (claims.auth_time !== undefined && claims.scope === undefined && claims.scp === undefined) {
    throw new AuthFailure('wrong_token_use', { marker: 'auth_time_without_scope' });
  }
}
