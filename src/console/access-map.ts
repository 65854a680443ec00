import type { PolicyExplanation, PolicyService, RouteEntry } from '@platform/auth';
import { byAppPathMethod, resolveRouteAccess } from '../access-map/resolve-route-access';

/** How one role (or scope) stands towards one route: allowed or not, and the grant path. */
export interface AccessCell {
  allowed: boolean;
  /** Per required permission, what grants it: the role (or scope), where the role came from, and the matching pattern. */
  grants: Array<{ permission: string; role?: string; scope?: string; via?: string; pattern: string }>;
  /** Required permissions this role (scope) does not grant. */
  missing: string[];
}

/** One route of the inventory with its policy and a cell per role and per scope. */
export interface AccessMapRow {
  method: string;
  path: string;
  app: string;
  /** `public`, `authenticated` or `permissions`. */
  policy: string;
  permissions: string[];
  tenantScoped: boolean;
  /** Keyed by role name. */
  roles: Record<string, AccessCell>;
  /** Keyed by scope name (machines). */
  scopes: Record<string, AccessCell>;
}

/** The resolved matrix: routes x roles and routes x scopes, from the route inventory and the policy. */
export interface AccessMap {
  roles: Array<{ name: string; description: string; includes: string[] }>;
  scopes: Array<{ name: string; description: string }>;
  routes: AccessMapRow[];
}

/**
 * The console's matrix: whether each role (bound in the platform, with what it includes) and each
 * scope gets each route comes from {@link resolveRouteAccess}, the same resolver as
 * `npm run access-map`; the console adds the tenant the roles are held in and, per cell, the grant
 * path ({@link PolicyService.explain}: the rule, role or scope and where the role came from) or
 * the permissions that are missing. Public routes are open to all, authenticated-only routes to
 * any valid token; routes without a policy (never mounted) to nobody.
 *
 * @param tenant the tenant the roles are held in (role mappings may be tenant-specific); null for none
 */
export function buildAccessMap(routes: RouteEntry[], policy: PolicyService, tenant: string | null): AccessMap {
  const document = policy.current;
  const roleNames = Object.keys(document.roles).sort();
  const scopeNames = Object.keys(document.scopes).sort();
  const cell = (
    allowed: boolean,
    permissions: string[],
    explain: (permission: string) => PolicyExplanation,
  ): AccessCell => {
    const grants: AccessCell['grants'] = [];
    const missing: string[] = [];
    for (const permission of permissions) {
      const explanation = explain(permission);
      if (!explanation.allowed) missing.push(permission);
      // One grant path per permission is enough to explain the cell: the first rule that matched.
      const first = explanation.grantedBy[0];
      if (first) {
        const via = first.source?.source === 'includes' ? `included by ${first.source.from}` : undefined;
        grants.push({
          permission,
          pattern: first.pattern,
          ...(first.role && { role: first.role }),
          ...(first.scope && { scope: first.scope }),
          ...(via && { via }),
        });
      }
    }
    return { allowed, grants, missing };
  };
  const rows = routes
    .map((route): AccessMapRow => {
      const resolved = resolveRouteAccess(route, policy, tenant);
      const gets = (holders: string[], name: string) => holders.includes('*') || holders.includes(name);
      return {
        method: resolved.method,
        path: resolved.path,
        app: resolved.app,
        policy: resolved.policy,
        permissions: resolved.permissions,
        tenantScoped: resolved.tenant === 'required',
        roles: Object.fromEntries(
          roleNames.map((role) => [
            role,
            cell(gets(resolved.roles, role), resolved.permissions, (p) =>
              policy.explain({ type: 'user', roles: [], scopes: [], tenant }, p, [role]),
            ),
          ]),
        ),
        scopes: Object.fromEntries(
          scopeNames.map((scope) => [
            scope,
            cell(gets(resolved.scopes, scope), resolved.permissions, (p) =>
              policy.explain({ type: 'service', roles: [], scopes: [scope], tenant }, p),
            ),
          ]),
        ),
      };
    })
    .sort(byAppPathMethod);
  return {
    roles: roleNames.map((name) => ({
      name,
      description: document.roles[name].description,
      includes: document.roles[name].includes,
    })),
    scopes: scopeNames.map((name) => ({ name, description: document.scopes[name].description })),
    routes: rows,
  };
}
