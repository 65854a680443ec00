import type { AccessStateService } from '../access/access-state.service';
import type { Principal } from '../principal';
import { actingClientOf, isDelegated, isMachine } from '../principal-kinds';
import { passed, refused, type StepResult } from './step-result';

/** A principal bound by its client's service account, and the token scopes its tenant never granted. */
export interface ClientBound {
  principal: Principal;
  /** Scopes the token carries that the service account is not granted (dropped from `principal.scopes`). */
  notGranted: string[];
}

/** What the delegation step needs to know about the platform. */
export interface DelegationContext {
  access: Pick<AccessStateService, 'serviceAccount'>;
  /** `DELEGATION_MAX_DEPTH`: most actors a token may name (0: no delegated token at all). */
  maxDepth: number;
  /** `SERVICE_ACCOUNTS_REQUIRED`: a tenant's machine must be registered as a service account. */
  serviceAccountsRequired: boolean;
}

/**
 * Step delegation (RFC 8693 `act`) and machine clients: the chain holds at most `maxDepth` actors
 * (whatever the principal's type); the client presenting the token (a machine, or the agent acting
 * for a person) is bound by what its tenant granted its service account: effective scopes are the
 * token's intersected with the account's. Machines outside any tenant (platform clients such as the
 * metrics scraper) keep their token's scopes and are never subject to a tenant's binding.
 *
 * Refuses with 403 `delegation_too_deep`, `service_account_not_registered` (when
 * `serviceAccountsRequired`), or `principal_deactivated` (the service account is deactivated).
 */
export function checkDelegation(principal: Principal, context: DelegationContext): StepResult<ClientBound> {
  const { maxDepth } = context;
  if (isDelegated(principal) && principal.actors.length > maxDepth) {
    const depth = principal.actors.length;
    return refused({
      status: 403,
      reason: 'delegation_too_deep',
      detail:
        maxDepth === 0
          ? 'This platform accepts no delegated tokens (tokens naming an actor, act).'
          : `This token's delegation chain names ${depth} actors; this platform accepts at most ${maxDepth}.`,
      audit: { depth, maxDepth },
    });
  }
  if (!isMachine(principal) || principal.tenant === null) return passed({ principal, notGranted: [] });
  const account = context.access.serviceAccount(principal.tenant, actingClientOf(principal));
  if (!account) {
    if (!context.serviceAccountsRequired) return passed({ principal, notGranted: [] });
    return refused({
      status: 403,
      reason: 'service_account_not_registered',
      detail: 'This machine client is not registered as a service account of its tenant.',
    });
  }
  if (!account.active)
    return refused({
      status: 403,
      reason: 'principal_deactivated',
      detail: 'This service account has been deactivated by an administrator of its tenant.',
    });
  return passed({
    principal: { ...principal, scopes: principal.scopes.filter((scope) => account.scopes.has(scope)) },
    notGranted: principal.scopes.filter((scope) => !account.scopes.has(scope)),
  });
}
