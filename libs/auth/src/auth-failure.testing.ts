import { expect } from 'vitest';
import { AuthFailure, type AuthFailureReason } from './auth-failure';

/** Test helper: runs `fn`, expects an AuthFailure, and returns its reason. */
export function reasonOf(fn: () => unknown): AuthFailureReason {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuthFailure);
    return (err as AuthFailure).reason;
  }
  throw new Error('expected an AuthFailure, but nothing was thrown');
}
