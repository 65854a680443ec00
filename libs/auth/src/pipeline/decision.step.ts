import type { PresentedToken } from '../bearer';
import { challenge } from '../challenges';
import { GROUPS_OVERAGE_DETAIL } from '../claim-values';
import type { PolicyService } from '../policy/policy.service';
import type { Principal } from '../principal';
import { isDelegated } from '../principal-kinds';
import type { RoutePolicy } from '../route-policy';
import type { Refusal } from './refusal';
import { passed, refused, type StepResult } from './step-result';

/** Why a request was allowed, as the audit trail records it. */
export type AllowReason = 'authenticated' | 'permission_granted';

/**
 * Step decision: the route's policy applied to the principal as the earlier steps left it.
 * A tenant route refuses principals outside any tenant (403 `tenant_required`); `authenticated`
 * routes then allow; permission routes ask the central policy and refuse with 403
 * `insufficient_permission` (people, or the person an agent acts for), `scope_not_granted` (the
 * token has the scope, its client's service account lacks it), `insufficient_scope` (with a
 * `WWW-Authenticate` challenge naming the scopes that would grant it), or `groups_overage`.
 *
 * @param notGranted token scopes the client's service account is not granted (delegation step)
 * @param scheme the scheme the token came with, for the challenge of `insufficient_scope`
 */
export function decide(
  policy: Pick<PolicyService, 'decide' | 'scopesGranting'>,
  route: Exclude<RoutePolicy, { kind: 'public' }>,
  principal: Principal,
  notGranted: readonly string[],
  scheme: PresentedToken['scheme'],
): StepResult<AllowReason> {
  if (route.tenant === 'required' && principal.tenant === null) {
    return refused({
      status: 403,
      reason: 'tenant_required',
      detail: 'This route acts within a tenant, and the access token names none.',
    });
  }
  if (route.kind === 'authenticated') return passed('authenticated');
  const decision = policy.decide(principal, route.permissions);
  if (decision.allowed) return passed('permission_granted');
  const { missing } = decision;
  const delegated = isDelegated(principal);
  const actor = delegated ? { actors: principal.actors.map((a) => a.subject) } : {};
  const denied = (
    reason: string,
    detail: string,
    audit: Record<string, unknown>,
    headers?: Record<string, string>,
  ): StepResult<AllowReason> =>
    refused({
      status: 403,
      reason,
      detail,
      audit,
      headers,
      extensions: { missingPermissions: missing },
    } satisfies Refusal);
  const scopeSide = decision.basis === 'scopes' || decision.basis === 'delegation';
  if (decision.basis === 'delegation' && decision.missingForSubject?.length) {
    // The person may not do it, whoever acts for them.
    const { missingForSubject } = decision;
    return denied(
      'insufficient_permission',
      `The user this token acts for does not hold ${missingForSubject.join(', ')}.`,
      { missing, missingForSubject, ...actor },
    );
  }
  if (
    scopeSide &&
    notGranted.length > 0 &&
    policy.decide({ ...principal, scopes: [...principal.scopes, ...notGranted] }, route.permissions).allowed
  ) {
    // The token carries the scope, but the tenant never granted it to this client.
    const detail = `This client's service account is not granted the scope it would need (${notGranted.join(', ')}).`;
    return denied('scope_not_granted', detail, { missing, notGranted, ...actor });
  }
  if (scopeSide) {
    const scopes = [...new Set(missing.flatMap((p) => policy.scopesGranting(p)))];
    const detail = delegated
      ? `The agent acting for this user is not allowed ${missing.join(', ')} (its token lacks the scope).`
      : `The access token lacks a scope this route needs (${missing.join(', ')}).`;
    // RFC 6750 section 3.1 / RFC 9449 section 7.1: in the scheme the token came with.
    return denied(
      'insufficient_scope',
      detail,
      { missing, ...actor },
      { 'www-authenticate': challenge(scheme, { error: 'insufficient_scope', scope: scopes }) },
    );
  }
  if (principal.groupsOverage) {
    // The person's groups were left out of the token: their group-derived roles are unknown, not absent.
    return denied('groups_overage', GROUPS_OVERAGE_DETAIL, { missing, groupsOverage: true });
  }
  return denied('insufficient_permission', `Your roles do not grant ${missing.join(', ')}.`, { missing });
}
