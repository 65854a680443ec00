import type { ServiceAccountGrant } from './access-state.service';

/** The access state as {@link AccessStateService} holds it in memory, keyed by tenant and subject (or client). */
export interface AccessStateMaps {
  /** Roles bound per principal, in any order. */
  bindings: ReadonlyMap<string, readonly string[]>;
  deactivated: ReadonlySet<string>;
  machines: ReadonlyMap<string, ServiceAccountGrant>;
}

/**
 * True when `a` and `b` grant and refuse exactly the same: the same principals with the same
 * roles (order and repeats ignored: rows come back in no set order), the same deactivations, and
 * the same service accounts with the same scopes and status. O(size of the state).
 */
export function sameAccessState(a: AccessStateMaps, b: AccessStateMaps): boolean {
  if (a.bindings.size !== b.bindings.size || a.deactivated.size !== b.deactivated.size) return false;
  if (a.machines.size !== b.machines.size) return false;
  for (const [key, roles] of a.bindings) {
    const other = b.bindings.get(key);
    if (other === undefined || !sameMembers(new Set(roles), new Set(other))) return false;
  }
  for (const key of a.deactivated) if (!b.deactivated.has(key)) return false;
  for (const [key, grant] of a.machines) {
    const other = b.machines.get(key);
    if (other === undefined || other.active !== grant.active || !sameMembers(grant.scopes, other.scopes)) return false;
  }
  return true;
}

function sameMembers(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}
