import { AuthFailure } from '../auth-failure';
import type { PresentedToken } from '../bearer';
import { challenge, noCredentialChallenge } from '../challenges';
import { reasonForJwtError } from '../jwt-errors';
import type { Refusal } from './refusal';

/** Refusals about the DPoP proof or binding: their challenge uses the DPoP scheme (RFC 9449 section 7.1). */
const DPOP_REASONS = new Set(['dpop_proof_required', 'invalid_dpop_proof', 'dpop_token_not_bound', 'dpop_required']);

/**
 * The refusal of a credential, token or DPoP proof: 401 with a `WWW-Authenticate` challenge
 * (RFC 6750 section 3, RFC 9449 section 7.1), or 503 when the issuer's keys are unavailable or
 * misconfigured (`Retry-After` only when retrying can help).
 *
 * @param err an {@link AuthFailure}, a jsonwebtoken error, or anything else (`invalid_token`)
 * @param scheme the scheme the token came with; undefined when no credential could be read
 * @param evidence safe facts for the audit record, added to the failure's own details
 */
export function tokenRefusal(
  err: unknown,
  scheme: PresentedToken['scheme'] | undefined,
  evidence: Record<string, unknown> = {},
): Refusal {
  const failure = err instanceof AuthFailure ? err : new AuthFailure(reasonForJwtError(err));
  // The failure's own facts win: with several issuers only the check that failed knows what it expected.
  const audit = { ...evidence, ...failure.details };
  if (failure.status === 503)
    return { status: 503, reason: failure.reason, detail: failure.message, headers: failure.retryHeaders, audit };
  // RFC 6750 section 3.1: no error code when the request carried no token at all.
  const noToken = failure.reason === 'missing_token' || failure.reason === 'unsupported_scheme';
  const error =
    failure.reason === 'malformed_authorization'
      ? 'invalid_request'
      : failure.reason === 'invalid_dpop_proof'
        ? 'invalid_dpop_proof'
        : 'invalid_token';
  // RFC 9449 section 7.1: a request made with DPoP, or refused for DPoP's sake, is answered with a DPoP challenge.
  const header =
    noToken && scheme === undefined
      ? noCredentialChallenge()
      : challenge(
          scheme === 'DPoP' || DPOP_REASONS.has(failure.reason) ? 'DPoP' : 'Bearer',
          noToken ? {} : { error, description: failure.message },
        );
  return {
    status: 401,
    reason: failure.reason,
    detail: failure.message,
    headers: { 'www-authenticate': header },
    extensions: failure.problemExtensions,
    audit,
  };
}
