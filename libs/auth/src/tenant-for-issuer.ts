import { AuthFailure } from './auth-failure';
import type { ResolvedIssuer } from './issuer-registry';
import type { Principal } from './principal';

/**
 * The principal as its issuer may speak for it: with a fixed `tenant` every token acts in that
 * tenant; with `tenants` the token's tenant (if any) must be on the list; with `entraTenants` the
 * token's `tid` must be the directory its `iss` names, and the principal acts in the platform
 * tenant that directory maps to. The single-issuer shorthand (none of them) speaks for any tenant.
 *
 * @param claims the verified claims (`tid` is read for Entra ID multi-tenant)
 * @throws AuthFailure `tenant_not_allowed_for_issuer` with `{ issuer, tenant }` (the refused value, at most 200 characters)
 */
export function tenantForIssuer(
  principal: Principal,
  claims: Record<string, unknown>,
  resolved: ResolvedIssuer,
): Principal {
  const config = resolved.trusted.config;
  const refuse = (tenant: unknown): never => {
    throw new AuthFailure('tenant_not_allowed_for_issuer', {
      issuer: principal.issuer,
      tenant: typeof tenant === 'string' ? tenant.slice(0, 200) : null,
    });
  };
  if (config.entraTenants) {
    // The iss named an allow-listed directory; the token must be that directory's own.
    const tid = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : undefined;
    if (resolved.directory === undefined || tid !== resolved.directory) refuse(claims.tid);
    return { ...principal, tenant: config.entraTenants[resolved.directory as string] };
  }
  if (config.tenant !== undefined) {
    if (principal.tenant !== null && principal.tenant !== config.tenant) refuse(principal.tenant);
    return { ...principal, tenant: config.tenant };
  }
  if (config.tenants !== undefined) {
    // No tenant means platform-wide (platform roles bound by subject): only for an issuer trusted so.
    if (principal.tenant === null ? config.platformWide !== true : !config.tenants.includes(principal.tenant))
      refuse(principal.tenant);
  }
  return principal;
}
