import type { PolicyDocument, PolicyService, Principal, RouteEntry } from '@platform/auth';

/** Who gets one route, as the policy says. */
export interface AccessMapRoute {
  method: string;
  path: string;
  app: string;
  /** `Controller.handler`. */
  handler: string;
  /** `public` (no token read), `authenticated` (any valid principal) or `permissions`. */
  policy: 'public' | 'authenticated' | 'permissions' | 'none';
  /** Every permission the route requires (all of them); empty unless `policy` is `permissions`. */
  permissions: string[];
  /** `required`: principals whose token names no tenant are refused (403 tenant_required). Null for public routes. */
  tenant: 'required' | 'optional' | null;
  /** `required-for-machines`: machines and agents need a DPoP-bound token here. */
  dpop: 'required-for-machines' | null;
  /**
   * Platform roles whose holders (people) get the route: the role's own permissions and those of
   * the roles it includes, transitively. `*` for public and authenticated-only routes.
   */
  roles: string[];
  /** Identity-provider roles or groups that get it through a role mapping (`from -> to`, with `@tenant` when tenant-specific). */
  mappedFrom: string[];
  /** OAuth scopes that get it for a machine, each scope alone (the tenant must also have granted the scope to the client). */
  scopes: string[];
}

/**
 * A principal for policy questions: a person whose token carries only `roles`, a person holding
 * only `boundRoles` (granted in the platform, so role mappings do not apply), or a machine holding
 * only `scopes`. `tenant` defaults to a tenant that no mapping names.
 */
export function profilePrincipal(profile: {
  roles?: string[];
  boundRoles?: string[];
  scopes?: string[];
  tenant?: string | null;
}): Principal {
  const machine = profile.scopes !== undefined;
  return {
    subject: 'access-map',
    type: machine ? 'service' : 'user',
    tenant: profile.tenant === undefined ? 'any-tenant' : profile.tenant,
    roles: profile.roles ?? [],
    boundRoles: profile.boundRoles ?? [],
    scopes: profile.scopes ?? [],
    clientId: null,
    issuer: 'access-map',
    expiresAt: 0,
    tokenId: null,
    actors: [],
    boundKeyThumbprint: null,
    claims: {},
  };
}

/**
 * Who gets one route, as the guard would decide (every answer comes from
 * {@link PolicyService.decide}): the platform roles whose holders get it (each role bound alone,
 * with what it includes), the identity-provider roles that get it through a role mapping, and the
 * scopes that alone get it for a machine. The one resolver behind `npm run access-map` and the
 * console's `GET /platform/access-map`.
 *
 * @param tenant the tenant the roles and scopes are held in (mappings without a tenant always apply;
 *   a tenant-specific mapping is evaluated in its own tenant); default: a tenant no mapping names
 */
export function resolveRouteAccess(
  route: RouteEntry,
  policy: PolicyService,
  tenant: string | null = 'any-tenant',
): AccessMapRoute {
  const doc: PolicyDocument = policy.current;
  const p = route.policy;
  const base = {
    method: route.method,
    path: route.path,
    app: route.app,
    handler: route.handler,
    policy: p?.kind ?? ('none' as const),
    permissions: p?.kind === 'permissions' ? [...p.permissions] : [],
    tenant: p && p.kind !== 'public' ? p.tenant : null,
    dpop: p && p.kind !== 'public' ? (p.dpop ?? null) : null,
  };
  if (p === undefined) return { ...base, roles: [], mappedFrom: [], scopes: [] };
  if (p.kind !== 'permissions') return { ...base, roles: ['*'], mappedFrom: [], scopes: ['*'] };
  const grants = (principal: Principal) => policy.decide(principal, p.permissions).allowed;
  return {
    ...base,
    roles: Object.keys(doc.roles)
      .sort()
      .filter((role) => grants(profilePrincipal({ boundRoles: [role], tenant }))),
    mappedFrom: doc.roleMappings
      .filter((m) => grants(profilePrincipal({ roles: [m.from], tenant: m.tenant ?? tenant })))
      .map((m) => `${m.from} -> ${m.to.join(', ')}${m.tenant ? ` @${m.tenant}` : ''}`),
    scopes: Object.keys(doc.scopes)
      .sort()
      .filter((scope) => grants(profilePrincipal({ scopes: [scope], tenant }))),
  };
}

/** Orders access-map rows by app, then path, then method (stable output for review). */
export function byAppPathMethod(
  a: { app: string; path: string; method: string },
  b: { app: string; path: string; method: string },
): number {
  return a.app.localeCompare(b.app) || a.path.localeCompare(b.path) || a.method.localeCompare(b.method);
}
