import type { BudgetKind } from './limits/rate-limit-policy';
import type { Principal } from './principal';

/** True when someone acts for the subject (a delegated token, RFC 8693 `act`). */
export function isDelegated(principal: Principal): boolean {
  return principal.actors.length > 0;
}

/** Machines and agents: a client-credentials principal, or any client acting for someone. */
export function isMachine(principal: Principal): boolean {
  return principal.type === 'service' || isDelegated(principal);
}

/**
 * The OAuth client that presents the token: the token's `client_id` (for a delegated token, the
 * agent that requested it, RFC 8693 section 4.3), else the current actor's `client_id` or `sub`,
 * else (a machine) its subject. Service-account grants and rate-limit budgets are keyed by it.
 */
export function actingClientOf(principal: Principal): string {
  return principal.clientId ?? principal.actors[0]?.clientId ?? principal.actors[0]?.subject ?? principal.subject;
}

/** Which budget a principal spends: agents acting for people have their own, shared by everyone they act for. */
export function budgetKindOf(principal: Principal): BudgetKind {
  if (principal.type === 'service') return 'service';
  return isDelegated(principal) ? 'agent' : 'user';
}

/** The identity a budget is counted for: the person; the machine's or the agent's client in its tenant. */
export function budgetKeyOf(principal: Principal): string {
  if (!isMachine(principal)) return `user:${principal.issuer}:${principal.subject}`;
  return `client:${principal.issuer}:${principal.tenant ?? '-'}:${actingClientOf(principal)}`;
}
