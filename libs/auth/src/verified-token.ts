import type { BudgetCharge } from './pipeline/budget.step';
import type { AllowReason } from './pipeline/decision.step';
import type { Principal } from './principal';
import type { RoutePolicy } from './route-policy';

/**
 * A remembered verification, and what the guard learnt about it since (kept with it, so it goes
 * when the token does): facts derived from the token alone, filled in by the guard on first use.
 */
export interface VerifiedToken {
  readonly principal: Principal;
  /** The principal's budget identity, hashed (`budgetId(budgetKeyOf(principal))`): hashed once per token, not per request. */
  budgetId?: string;
  /**
   * Allows the guard decided for this token (`pipeline/known-allow.ts`): the one allow while the
   * token was allowed on one route only (most tokens: no Map of ~300 bytes each), else by route.
   */
  allowed?: KnownAllow | KnownAllows;
}

/** The versions of what a decision read beyond the token: the access state and the policy. */
export interface DecisionInputs {
  /** `AccessStateService.version`: role bindings, deactivations, service accounts. */
  access: number;
  /** `PolicyService.version`: the policy document. */
  policy: number;
}

/**
 * An allow the guard decided for one verified token on one route: every step from the sender
 * constraint to the decision passed, reading nothing but the token, the route, static
 * configuration and {@link DecisionInputs}. Only the budget is spent again on each request.
 */
export interface KnownAllow {
  /** The route policy it was decided for. */
  route: RoutePolicy;
  inputs: DecisionInputs;
  /** The feature app the route belongs to, and the budget the principal spends in it (hashed key). */
  charge: Required<BudgetCharge>;
  /** The principal as the decision saw it (role bindings, service-account scopes): the handler's. */
  principal: Principal;
  reason: AllowReason;
}

/** A token's known allows, by route policy (the decorator's metadata object: one per route or controller). */
export type KnownAllows = Map<RoutePolicy, KnownAllow>;
