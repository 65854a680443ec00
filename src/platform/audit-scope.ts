import type { Principal } from '@platform/auth';
import { ProblemException } from '@platform/http';

/**
 * The tenant whose audit records `principal` may read: its own, or any (`requested`, undefined
 * meaning every tenant) when it holds `platform:audit:read-all` (`readAll`).
 * @throws ProblemException 403 `tenant_required` (no tenant, no read-all) / `insufficient_permission` (another tenant)
 */
export function auditTenantScope(
  principal: Principal,
  readAll: boolean,
  requested: string | undefined,
): string | undefined {
  if (readAll) return requested;
  if (principal.tenant === null)
    throw new ProblemException(
      403,
      'tenant_required',
      'Reading the audit trail needs a tenant, or the platform:audit:read-all permission.',
    );
  if (requested !== undefined && requested !== principal.tenant)
    throw new ProblemException(
      403,
      'insufficient_permission',
      "Reading another tenant's audit trail needs platform:audit:read-all.",
    );
  return principal.tenant;
}
