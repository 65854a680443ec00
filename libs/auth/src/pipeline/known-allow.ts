import type { BudgetKind } from '../limits/rate-limit-policy';
import type { Principal } from '../principal';
import type { RoutePolicy } from '../route-policy';
import type { DecisionInputs, KnownAllow, VerifiedToken } from '../verified-token';
import type { BudgetCharge } from './budget.step';
import type { AllowReason } from './decision.step';

export type { DecisionInputs, KnownAllow } from '../verified-token';

/** Most routes remembered per token; beyond, the token's notes start again (a token is short-lived). */
const MAX_ROUTES_PER_TOKEN = 64;

/**
 * The allow decided earlier for `token` on `route`, if nothing it read has changed since (a role
 * granted or revoked, a deactivation, a service-account change, a policy reload all change
 * `inputs`); else undefined: the guard's full pipeline decides.
 *
 * @param accessVersion `AccessStateService.version` now; `policyVersion`: `PolicyService.version` now
 */
export function knownAllow(
  token: VerifiedToken,
  route: RoutePolicy,
  app: string,
  accessVersion: number,
  policyVersion: number,
): KnownAllow | undefined {
  const allowed = token.allowed;
  const known =
    allowed === undefined || allowed instanceof Map
      ? allowed?.get(route)
      : allowed.route === route
        ? allowed
        : undefined;
  if (
    known === undefined ||
    known.inputs.access !== accessVersion ||
    known.inputs.policy !== policyVersion ||
    known.charge.app !== app
  )
    return undefined;
  return known;
}

/**
 * Notes an allow for {@link knownAllow}. Only for a plain bearer token (a DPoP-bound one needs a
 * fresh proof with every request).
 *
 * @param inputs the versions read before the steps that read them
 */
export function rememberAllow(
  token: VerifiedToken,
  route: RoutePolicy,
  charge: Required<BudgetCharge>,
  inputs: DecisionInputs,
  principal: Principal,
  reason: AllowReason,
): void {
  if (token.principal.boundKeyThumbprint !== null) return;
  const known: KnownAllow = { route, inputs, charge, principal, reason };
  const allowed = token.allowed;
  // One route: the allow itself; a second route turns it into a Map by route.
  if (allowed === undefined || (!(allowed instanceof Map) && allowed.route === route)) token.allowed = known;
  else if (!(allowed instanceof Map))
    token.allowed = new Map([
      [allowed.route, allowed],
      [route, known],
    ]);
  else {
    if (allowed.size >= MAX_ROUTES_PER_TOKEN) allowed.clear();
    allowed.set(route, known);
  }
}

/** The budget a principal's requests spend in `app`, its key hashed once per token. */
export function chargeOf(
  token: VerifiedToken,
  app: string,
  kind: BudgetKind,
  key: string,
  hash: (key: string) => string,
): Required<BudgetCharge> {
  return { app, kind, key, id: (token.budgetId ??= hash(key)) };
}
