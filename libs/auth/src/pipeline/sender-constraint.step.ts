import type { FastifyRequest } from 'fastify';
import { AuthFailure } from '../auth-failure';
import type { PresentedToken } from '../bearer';
import type { DpopProofVerifier } from '../dpop/dpop-proof-verifier';
import type { Principal } from '../principal';
import { isMachine } from '../principal-kinds';
import type { RoutePolicy } from '../route-policy';
import { headerValues } from './credential.step';
import { passed, refused, type StepResult } from './step-result';
import { tokenRefusal } from './token-refusal';

/** What the sender-constraint step needs to know about the platform. */
export interface SenderConstraintContext {
  verifier: Pick<DpopProofVerifier, 'check' | 'claim'>;
  /** `PUBLIC_ORIGIN`, the origin proofs are made for; undefined: the request's own (development). */
  publicOrigin: string | undefined;
  /** Apps whose machine clients must use DPoP-bound tokens (`DPOP_REQUIRED_FOR_MACHINES`). */
  requiredForMachinesApps: readonly string[];
}

/**
 * Step 3, sender constraint (RFC 9449): a DPoP-bound token (`cnf.jkt`) must come with
 * `Authorization: DPoP` and a valid proof by its key, whose `jti` is then claimed (before the
 * principal's budget: a replayed proof spends the sender address's budget, never its victim's);
 * the DPoP scheme with an unbound token is refused (no silent downgrade); machines and agents must
 * use DPoP where the route or its app requires it.
 *
 * Refuses with 401 and a DPoP challenge: `dpop_proof_required`, `invalid_dpop_proof`,
 * `dpop_token_not_bound`, `dpop_required`.
 */
export async function checkSenderConstraint(
  request: FastifyRequest,
  principal: Principal,
  presented: PresentedToken,
  app: string,
  route: RoutePolicy,
  context: SenderConstraintContext,
): Promise<StepResult<void>> {
  try {
    if (principal.boundKeyThumbprint !== null) {
      if (presented.scheme !== 'DPoP') throw new AuthFailure('dpop_proof_required');
      // PUBLIC_ORIGIN (required in production): the Host header is the client's to choose.
      const origin = context.publicOrigin ?? `${request.protocol}://${request.host}`;
      const proof = await context.verifier.check({
        proofs: headerValues(request, 'dpop'),
        method: request.method,
        url: `${origin}${request.url}`,
        accessToken: presented.token,
        boundKeyThumbprint: principal.boundKeyThumbprint,
      });
      await context.verifier.claim(proof);
      return passed(undefined);
    }
    if (presented.scheme === 'DPoP') throw new AuthFailure('dpop_token_not_bound');
    const required =
      (route.kind !== 'public' && route.dpop === 'required-for-machines') ||
      context.requiredForMachinesApps.includes(app);
    if (required && isMachine(principal)) throw new AuthFailure('dpop_required', { app });
    return passed(undefined);
  } catch (err) {
    return refused(tokenRefusal(err, presented.scheme));
  }
}
