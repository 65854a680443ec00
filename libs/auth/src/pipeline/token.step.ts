import type { PresentedToken } from '../bearer';
import { reasonForJwtError } from '../jwt-errors';
import type { Principal } from '../principal';
import { passed, refused, type StepResult } from './step-result';
import { tokenEvidence, type ExpectedToken } from './token-evidence';
import { tokenRefusal } from './token-refusal';

/** How the token step verifies: a remembered verification, else passport-jwt. */
export interface TokenVerification {
  /** A principal verified earlier for this exact token and still valid (synchronous), or undefined. */
  cached(token: string): Principal | undefined;
  /** Runs passport-jwt (`JwtBearerStrategy`) on the token; rejects with its failure. */
  passport(token: string): Promise<Principal>;
  /** What the token is expected to name, for the evidence of a refusal. */
  expected: ExpectedToken;
}

/**
 * Step 2, token: the principal of a valid access token (RFC 9068). A token verified before
 * answers synchronously, without passport's machinery; otherwise passport-jwt validates it.
 * Refuses with 401 (the token's reason, with evidence for issuer, audience and time refusals) or
 * 503 (`issuer_unavailable`, `issuer_misconfigured`).
 */
export function verifyToken(
  presented: PresentedToken,
  verification: TokenVerification,
): StepResult<Principal> | Promise<StepResult<Principal>> {
  const cached = verification.cached(presented.token);
  if (cached) return passed(cached);
  return verification
    .passport(presented.token)
    .then(passed, (err: unknown) =>
      refused(
        tokenRefusal(
          err,
          presented.scheme,
          tokenEvidence(reasonForJwtError(err), presented.token, verification.expected),
        ),
      ),
    );
}
