import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { isExactPermission } from './policy/permission';
import type { Principal } from './principal';

/**
 * What a route demands, declared once with a decorator and read by the one global guard.
 * - `public`: no token is read at all (a token sent anyway is ignored, never half-checked).
 * - `authenticated`: any valid principal.
 * - `permissions`: every listed permission, from the central policy.
 * `tenant: 'required'` (the default) refuses principals whose token names no tenant.
 */
export type RoutePolicy =
  | { kind: 'public'; rateLimited?: boolean }
  | { kind: 'authenticated'; tenant: 'required' | 'optional'; dpop?: 'required-for-machines' }
  | { kind: 'permissions'; permissions: string[]; tenant: 'required' | 'optional'; dpop?: 'required-for-machines' };

/** Metadata key of {@link RoutePolicy}. Read handler first, then class: the handler's decorator wins. */
export const ROUTE_POLICY = 'platform:route-policy';

/** Options shared by the policy decorators. */
export interface RoutePolicyOptions {
  /** `optional` for platform-wide routes used by principals outside any tenant. */
  tenant?: 'required' | 'optional';
  /**
   * `required-for-machines`: machine principals and agents acting for people must present a
   * DPoP-bound token (RFC 9449) here; people may still use bearer tokens. Apps can require it for
   * all their routes with `DPOP_REQUIRED_FOR_MACHINES`.
   */
  dpop?: 'required-for-machines';
}

/**
 * The route needs no token (health checks, webhooks verified by signature). Its requests spend the
 * client address's `anonymous` budget, unless `rateLimited: false` (probes of the orchestrator,
 * which must never be told 429).
 */
export const Public = (options: { rateLimited?: boolean } = {}) =>
  SetMetadata(ROUTE_POLICY, {
    kind: 'public',
    ...(options.rateLimited === false && { rateLimited: false }),
  } satisfies RoutePolicy);

/** The route needs any valid access token, and no particular permission. */
export const Authenticated = (options: RoutePolicyOptions = {}) =>
  applyDecorators(
    SetMetadata(ROUTE_POLICY, {
      kind: 'authenticated',
      tenant: options.tenant ?? 'required',
      dpop: options.dpop,
    } satisfies RoutePolicy),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'No valid access token (problem+json, WWW-Authenticate: Bearer)' }),
  );

/**
 * The route needs every one of these permissions (`app:resource:action`), as granted by the
 * central policy file. On a class it applies to every handler without its own decorator.
 */
export function RequirePermissions(...args: Array<string | RoutePolicyOptions>) {
  const last = args[args.length - 1];
  const options = typeof last === 'object' ? last : {};
  const permissions = args.filter((a): a is string => typeof a === 'string');
  // Fail at start-up, not at request time: a route must name exact permissions.
  if (permissions.length === 0) throw new Error('@RequirePermissions() needs at least one permission');
  for (const permission of permissions) {
    if (!isExactPermission(permission))
      throw new Error(`@RequirePermissions("${permission}"): not an exact app:resource:action permission`);
  }
  return applyDecorators(
    SetMetadata(ROUTE_POLICY, {
      kind: 'permissions',
      permissions,
      tenant: options.tenant ?? 'required',
      dpop: options.dpop,
    } satisfies RoutePolicy),
    // The OpenAPI document states the same requirement, from the same metadata.
    ApiBearerAuth(),
    ApiExtension('x-required-permissions', permissions),
    ApiUnauthorizedResponse({ description: 'No valid access token (problem+json, WWW-Authenticate: Bearer)' }),
    ApiForbiddenResponse({ description: `Requires ${permissions.join(', ')} (problem+json)` }),
  );
}

/** Injects the request's {@link Principal} (undefined on public routes). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Principal | undefined =>
    ctx.switchToHttp().getRequest<FastifyRequest>().platform?.principal as Principal | undefined,
);
