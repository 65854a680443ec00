import { NotBeforeError, TokenExpiredError } from 'jsonwebtoken';
import { AuthFailure, type AuthFailureReason } from './auth-failure';

/**
 * The reason code of a token verification failure, by error class only (never by message):
 * {@link AuthFailure} carries its own; jsonwebtoken's {@link TokenExpiredError} is `expired` and
 * {@link NotBeforeError} `not_yet_valid`; anything else is `invalid_token`. Every other jsonwebtoken
 * failure is classified where it happens (see {@link verifyWithJsonwebtoken} in `jwt-verifier.ts`) and arrives as an AuthFailure.
 */
export function reasonForJwtError(err: unknown): AuthFailureReason {
  if (err instanceof AuthFailure) return err.reason;
  if (err instanceof TokenExpiredError) return 'expired';
  if (err instanceof NotBeforeError) return 'not_yet_valid';
  return 'invalid_token';
}
