import { Controller, Get, Query } from '@nestjs/common';
import { AccessStateService, CurrentPrincipal, isExactPermission, PolicyService, RequirePermissions, type Principal, type PolicyExplanation } from '@platform/auth';
import { AppRegistry, ForbiddenChangeError, InvalidRequestError } from '@platform/http';
import { ExplainQuery } from './explain-query.dto';

/** The answer of `GET /platform/authz/explain`. */
export type ExplainResult = Omit<PolicyExplanation, 'reason'> & {
  subject: string;
  tenant: string;
  permission: string;
  decision: 'allow' | 'deny';
  /** The same reason an audit record of this decision carries. */
  reason: PolicyExplanation['reason'] | 'principal_deactivated';
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
    const explanation = this.policy.explain(
      { type: query.type ?? 'user', roles: tokenRoles, scopes: query.scopes ?? [], tenant },
      query.permission,
      boundRoles,
    );
    const deactivated = this.access.isDeactivated(tenant, query.subject);
    return {
      subject: query.subject,
      tenant,
      permission: query.permission,
      ...explanation,
      decision: explanation.allowed && !deactivated ? 'allow' : 'deny',
      reason: deactivated ? 'principal_deactivated' : explanation.reason,
      allowed: explanation.allowed && !deactivated,
      boundRoles,
      tokenRoles,
    };
  }
}
