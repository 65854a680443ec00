import type { AccessStateService } from '../access/access-state.service';
import { deactivatedRoleOf, type DeactivationState } from '../access/deactivation';
import type { Principal } from '../principal';
import { passed, refused, type StepResult } from './step-result';

/**
 * Step principal state, first half: deactivation beats any token, in every role the token names
 * (subject, each actor of a delegation chain, the presenting client). Read from memory.
 * Refuses with 403 `principal_deactivated` (the audit names the role, unless it is the subject).
 */
export function checkDeactivation(access: DeactivationState, principal: Principal): StepResult<Principal> {
  const deactivated = deactivatedRoleOf(access, principal);
  if (!deactivated) return passed(principal);
  const subject = deactivated.role === 'subject';
  return refused({
    status: 403,
    reason: 'principal_deactivated',
    detail: subject
      ? 'This account has been deactivated by an administrator of its tenant.'
      : `The ${deactivated.role === 'actor' ? 'agent acting in this token' : 'client presenting this token'} has been deactivated by an administrator of its tenant.`,
    audit: subject ? undefined : { deactivatedRole: deactivated.role, deactivated: deactivated.identity },
  });
}

/**
 * Step principal state, second half: the platform roles bound to the principal in its tenant
 * (outside any tenant, the platform-wide bindings made by the bootstrap or `npm run grant`). Kept
 * apart from the token's roles (`boundRoles`): role mappings apply to what the identity provider says only.
 */
export function withRoleBindings(access: Pick<AccessStateService, 'rolesOf'>, principal: Principal): Principal {
  const bound = access.rolesOf(principal.tenant, principal.subject);
  return bound.length > 0 ? { ...principal, boundRoles: bound } : principal;
}
