import type { Principal } from '../principal';
import { isDelegated, isMachine } from '../principal-kinds';
import type { AccessStateService } from './access-state.service';

/** The part of the access state deactivation is read from (the guard passes {@link AccessStateService}). */
export type DeactivationState = Pick<AccessStateService, 'isDeactivated' | 'serviceAccount'>;

/**
 * The role in which a principal's token names a deactivated identity:
 * - `subject`: the person or machine the token is about;
 * - `actor`: an actor of the delegation chain (RFC 8693 `act`, any depth), by its `sub` or `client_id`;
 * - `client`: the OAuth client presenting a machine's or an agent's token (`client_id`).
 */
export interface DeactivatedRole {
  role: 'subject' | 'actor' | 'client';
  /** The deactivated identity (a subject or client id, as the token names it). */
  identity: string;
}

/**
 * Finds the first deactivated identity among every role the token gives: subject, each actor of
 * the delegation chain, and the presenting client of a machine or agent. An identity counts as
 * deactivated when a tenant admin deactivated it (`POST /users/:id/deactivate`) or, for a client,
 * when its service account in the token's tenant is deactivated. Deactivating an agent therefore
 * stops its own tokens and every token in which it acts for someone.
 *
 * The service account of a non-delegated machine's own client is left to the guard's service-account
 * step (same reason code, its own message). A person's `client_id` (the application she signed in
 * with) is not checked: people are not refused for the app they used.
 *
 * @returns the first deactivated role (subject first, then actors in chain order, then the client), or undefined
 */
export function deactivatedRoleOf(state: DeactivationState, principal: Principal): DeactivatedRole | undefined {
  const { tenant } = principal;
  if (state.isDeactivated(tenant, principal.subject)) return { role: 'subject', identity: principal.subject };
  const inactive = (id: string | null, asClient: boolean): id is string =>
    id !== null &&
    (state.isDeactivated(tenant, id) ||
      (asClient && tenant !== null && state.serviceAccount(tenant, id)?.active === false));
  for (const actor of principal.actors) {
    if (inactive(actor.subject, actor.clientId === null)) return { role: 'actor', identity: actor.subject };
    if (inactive(actor.clientId, true)) return { role: 'actor', identity: actor.clientId };
  }
  if (
    isMachine(principal) &&
    principal.clientId !== principal.subject &&
    inactive(principal.clientId, isDelegated(principal))
  ) {
    return { role: 'client', identity: principal.clientId };
  }
  return undefined;
}
