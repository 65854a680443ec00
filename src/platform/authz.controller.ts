import { Controller, Get, Query } from '@nestjs/common';
import { AccessStateService, CurrentPrincipal, isExactPermission, PolicyService, RequirePermissions, type Principal, type PolicyExplanation } from '@platform/auth';
import { PlatformConfig } from '@platform/config';
import { AppRegistry, ForbiddenChangeError, InvalidRequestError } from '@platform/http';
import { ExplainQuery } from './explain-query.dto';

/** The answer of `GET /platform/authz/explain`. */
export type ExplainResult = Omit<PolicyExplanation, 'reason'> & {
  subject: string;
  tenant: string;
  permission: string;
  decision: 'allow' | 'deny';
  /** The same reason an audit record of this decision carries. */
  reason: PolicyExplanation['reason'] | 'principal_deactivated' | 'service_account_not_registered' | 'scope_not_granted';
  /** For a machine of the tenant: the scopes its service account is granted (null when it is not registered). */
  grantedScopes?: string[] | null;
  boundRoles: string[];
  tokenRoles: string[];
};

/** "Who may do what, and why": the central policy's answer for any principal. */
@Controller('platform/authz')
export class AuthzController {
  constructor(
    private readonly policy: PolicyService,
    private readonly access: AccessStateService,
    private readonly registry: AppRegistry,
    private readonly config: PlatformConfig,
  ) {}

  /**
   * Decides `permission` for `subject` in `tenant` from the policy, the role bindings and the
   * deactivation list (plus the token roles or scopes given), and names the rule that decided.
   */
  @Get('explain')
  @RequirePermissions('platform:authz:explain', { tenant: 'optional' })
  explain(@CurrentPrincipal() caller: Principal, @Query() query: ExplainQuery): ExplainResult {
    const tenant = query.tenant ?? caller.tenant;
    if (tenant === null) throw new InvalidRequestError('tenant_required', 'Name the tenant to explain a decision in.');
    // Across tenants only with platform:authz:explain-all (platform operators), like the audit trail.
    if (tenant !== caller.tenant && !this.policy.decide(caller, ['platform:authz:explain-all']).allowed) {
      throw new ForbiddenChangeError('other_tenant', 'You can only explain decisions within your own tenant.');
    }
    if (!isExactPermission(query.permission) || !this.registry.permissions().has(query.permission)) {
      throw new InvalidRequestError('unknown_permission', `"${query.permission}" is not a permission any app declares.`);
    }
    const boundRoles = [...this.access.rolesOf(tenant, query.subject)];
    const tokenRoles = query.roles ?? [];
    const type = query.type ?? 'user';
    // A machine as the guard sees it: its token's scopes within what its service account is
    // granted (the subject of a client-credentials token is its client id).
    const account = type === 'service' ? this.access.serviceAccount(tenant, query.subject) : undefined;
    const tokenScopes = query.scopes ?? (account ? [...account.scopes] : []);
    const scopes = account ? tokenScopes.filter((scope) => account.scopes.has(scope)) : tokenScopes;
    const explanation = this.policy.explain({ type, roles: tokenRoles, scopes, tenant }, query.permission, boundRoles);
    let reason: ExplainResult['reason'] = explanation.reason;
    let allowed = explanation.allowed;
    if (type === 'service' && !account && this.config.serviceAccountsRequired) {
      [allowed, reason] = [false, 'service_account_not_registered'];
    } else if (account && !allowed && this.policy.explain({ type, roles: [], scopes: tokenScopes, tenant }, query.permission).allowed) {
      reason = 'scope_not_granted';
    }
    if (this.access.isDeactivated(tenant, query.subject) || (account && !account.active)) [allowed, reason] = [false, 'principal_deactivated'];
    return {
      subject: query.subject,
      tenant,
      permission: query.permission,
      ...explanation,
      decision: allowed ? 'allow' : 'deny',
      reason,
      allowed,
      boundRoles,
      tokenRoles,
      ...(type === 'service' && { grantedScopes: account ? [...account.scopes] : null }),
    };
  }
}
