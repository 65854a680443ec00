/**
 * Why a token or an Authorization header was refused. Each code is stable (clients and the audit
 * trail rely on it) and documented in docs/errors.md.
 */
export type AuthFailureReason =
  | 'missing_token'
  | 'unsupported_scheme'
  | 'malformed_authorization'
  | 'malformed_token'
  | 'alg_not_allowed'
  | 'kid_required'
  | 'unknown_kid'
  | 'ambiguous_kid'
  | 'key_not_for_signing'
  | 'key_alg_mismatch'
  | 'insecure_key'
  | 'invalid_signature'
  | 'iss_mismatch'
  | 'aud_mismatch'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_exp'
  | 'iat_in_future'
  | 'lifetime_exceeded'
  | 'malformed_claims'
  | 'wrong_token_use'
  | 'client_id_mismatch'
  | 'invalid_token'
  | 'unsupported_token_binding'
  | 'dpop_proof_required'
  | 'invalid_dpop_proof'
  | 'dpop_token_not_bound'
  | 'dpop_required'
  | 'issuer_unavailable'
  | 'issuer_misconfigured'
  | 'tenant_not_allowed_for_issuer';

/** Client-facing explanation of each reason: actionable, no internals, no token content. */
const DETAILS: Record<AuthFailureReason, string> = {
  missing_token:
    'This route needs an access token: send it as "Authorization: Bearer <token>" (or "DPoP <token>" with a DPoP proof for a bound token).',
  unsupported_scheme:
    'Only the Bearer and DPoP authorization schemes are accepted: send "Authorization: Bearer <token>".',
  malformed_authorization: 'The Authorization header must be exactly "Bearer <token>", with nothing after the token.',
  malformed_token: 'The access token is not a well-formed signed JWT.',
  alg_not_allowed: 'The access token is signed with an algorithm this platform does not accept.',
  kid_required: "The access token's header names no key id (kid) and the issuer publishes several keys.",
  unknown_kid: 'The access token was signed with a key the issuer does not publish (any more): get a new token.',
  ambiguous_kid: 'The issuer publishes conflicting keys under the key id of this token.',
  key_not_for_signing: 'The key named by the access token is not published for signatures.',
  key_alg_mismatch: "The access token's algorithm does not match the type of its signing key.",
  insecure_key: 'The access token was signed with a key too weak to be trusted.',
  invalid_signature: "The access token's signature is invalid.",
  iss_mismatch: 'The access token was not issued by the issuer this platform trusts.',
  aud_mismatch: 'The access token was not issued for this API (audience mismatch): request a token for this API.',
  expired: 'The access token has expired: get a new one.',
  not_yet_valid: 'The access token is not valid yet (nbf is in the future): check the clocks.',
  missing_exp: 'The access token has no expiry (exp); such tokens are never accepted.',
  iat_in_future: 'The access token claims to be issued in the future (iat): check the clocks.',
  lifetime_exceeded: 'The access token lives longer than this platform accepts.',
  malformed_claims: 'The access token has a claim of the wrong type or shape.',
  wrong_token_use: 'This is not an access token (an ID or refresh token was sent): send an access token.',
  client_id_mismatch: 'The access token was issued to a client this API does not accept.',
  invalid_token: 'The access token is invalid.',
  unsupported_token_binding:
    'The access token is bound to its client in a way this platform cannot check (only DPoP, cnf.jkt, is supported).',
  dpop_proof_required:
    'The access token is bound to a key (DPoP): send it as "Authorization: DPoP <token>" with a DPoP proof header.',
  invalid_dpop_proof:
    'The DPoP proof is missing, malformed, expired, replayed, or does not match this request, the token or its key.',
  dpop_token_not_bound:
    'The DPoP scheme was used with an access token that is not bound to a key: send it as "Authorization: Bearer <token>".',
  dpop_required:
    'This route requires machine clients to use DPoP-bound access tokens (RFC 9449): request the token with a DPoP proof.',
  issuer_unavailable: "The platform cannot reach the issuer's keys right now: retry shortly.",
  tenant_not_allowed_for_issuer:
    'The issuer of this access token may not speak for the tenant it names: get a token from the identity provider of that tenant.',
  issuer_misconfigured:
    "The platform's configuration of the token issuer does not match the issuer: an operator must fix it; retrying will not help.",
};

/**
 * A refused credential. `status` is 401, except 503 for `issuer_unavailable` (with `Retry-After`)
 * and `issuer_misconfigured` (without: a permanent misconfiguration is not an outage to retry).
 * `details` holds safe facts for the audit trail (expected audience, offending alg, kid), never a token.
 */
export class AuthFailure extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    readonly details: Record<string, unknown> = {},
  ) {
    // The claim's name (from configuration or the preset, never the token's value) tells the
    // operator which provider setting to fix.
    super(
      reason === 'malformed_claims' && typeof details.claim === 'string'
        ? `The access token's claim "${details.claim}" has the wrong type or shape.`
        : DETAILS[reason],
    );
    this.name = 'AuthFailure';
  }

  /** Members added to the problem+json body: the malformed claim's name. */
  get problemExtensions(): Record<string, unknown> {
    return this.reason === 'malformed_claims' && typeof this.details.claim === 'string'
      ? { claim: this.details.claim }
      : {};
  }

  get status(): number {
    return this.reason === 'issuer_unavailable' || this.reason === 'issuer_misconfigured' ? 503 : 401;
  }

  /** Response headers of a 503: `Retry-After` only when retrying can help. */
  get retryHeaders(): Record<string, string> {
    return this.reason === 'issuer_unavailable' ? { 'retry-after': '5' } : {};
  }
}
