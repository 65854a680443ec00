import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ProblemException } from '@platform/http';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './principal';

/** Metadata key set on a handler that takes a `@TenantPrincipal()` parameter. */
export const TENANT_PRINCIPAL_PARAM = 'platform:tenant-principal-param';

/** A principal the guard admitted on a tenant route: its `tenant` is known. */
export type TenantPrincipal = Principal & { tenant: string };

/** True when the principal acts within a tenant (narrows it to {@link TenantPrincipal}). */
export function hasTenant(principal: Principal): principal is TenantPrincipal {
  return principal.tenant !== null;
}

/**
 * The request's principal as a {@link TenantPrincipal}. The guard refuses principals without a
 * tenant on tenant routes (`tenant_required`) before any handler runs, and the start-up check
 * refuses `@TenantPrincipal()` on a route that is not a tenant route; should a request still get
 * here without one, it is refused with 403 `tenant_required`, never a 500.
 *
 * @throws ProblemException 403 `tenant_required`
 */
export function tenantPrincipalOf(_data: unknown, ctx: ExecutionContext): TenantPrincipal {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().platform?.principal as Principal | undefined;
  if (principal === undefined || !hasTenant(principal)) {
    throw new ProblemException(
      403,
      'tenant_required',
      'This route acts within a tenant, and the access token names none.',
    );
  }
  return principal;
}

/**
 * Injects the request's principal, typed with its tenant (`principal.tenant` is a `string`), on a
 * route whose policy requires a tenant (the default of `@RequirePermissions()` and `@Authenticated()`).
 */
export const TenantPrincipal = createParamDecorator(tenantPrincipalOf, [
  // Marks the handler, so that the start-up check can refuse the decorator on a route without a tenant.
  (target, key) => {
    if (key !== undefined)
      Reflect.defineMetadata(TENANT_PRINCIPAL_PARAM, true, (target as Record<string | symbol, object>)[key]);
  },
]);
