import type { PresentedToken } from './bearer';
import { DPOP_ALGORITHMS } from './dpop/dpop-proof-verifier';

const REALM = 'platform';

/** Optional parameters of a challenge (RFC 6750 section 3, RFC 9449 section 7.1). */
export interface ChallengeParams {
  error?: string;
  description?: string;
  scope?: string[];
}

/** One `WWW-Authenticate` challenge of `scheme`; `Bearer` carries the realm, `DPoP` the accepted proof algorithms. */
export function challenge(scheme: PresentedToken['scheme'], params: ChallengeParams = {}): string {
  const parts = [scheme === 'DPoP' ? `DPoP algs="${DPOP_ALGORITHMS.join(' ')}"` : `Bearer realm="${REALM}"`];
  if (params.error) parts.push(`error="${params.error}"`);
  if (params.description) parts.push(`error_description="${params.description.replace(/["\\]/g, "'")}"`);
  if (params.scope?.length) parts.push(`scope="${params.scope.join(' ')}"`);
  return parts.join(', ');
}

/**
 * The challenge(s) for a request that carried no usable credential: Bearer, and DPoP too when the
 * route would take a DPoP-bound token (RFC 9449 section 7.2: both schemes may be offered).
 */
export function noCredentialChallenge(): string {
  return NO_CREDENTIAL_CHALLENGE;
}

const NO_CREDENTIAL_CHALLENGE = `${challenge('Bearer')}, ${challenge('DPoP')}`;
