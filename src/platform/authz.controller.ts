import { Controller, Get, Query } from '@nestjs/common';
import {
  AccessStateService,
  CurrentPrincipal,
  isExactPermission,
  PolicyService,
  RequirePermissions,
  type Principal,
  type PolicyExplanation,
} from '@platform/auth';
import { PlatformConfig } from '@platform/config';
import { ForbiddenChangeError, InvalidRequestError } from '@platform/http';
import { AppRegistry } from '@platform/feature-apps';
import { ExplainQuery } from './explain-query.dto';
import { PLATFORM_PERMISSIONS } from './platform-permissions';

/** The answer of `GET /platform/authz/explain`. */
export type ExplainResult = Omit<PolicyExplanation, 'reason'> & {
  subject: string;
  tenant: string;
  permission: string;
  decision: 'allow' | 'deny';
  /** The same reason an audit record of this decision carries. */
  reason:
    | PolicyExplanation['reason']
    | 'principal_deactivated'
    | 'service_account_not_registered'
    | 'scope_not_granted'
    | 'delegation_too_deep';
  /** For a machine of the tenant, or the agent acting for the subject: the scopes its service account is granted (null when it is not registered). */
  grantedScopes?: string[] | null;
  /** With `actor`: the agent acting for the subject, and which of its scopes grant the permission. */
  actor?: string;
  actorGrantedBy?: PolicyExplanation['grantedBy'];
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
  @RequirePermissions(PLATFORM_PERMISSIONS.authzExplain, { tenant: 'optional' })
  explain(@CurrentPrincipal() caller: Principal, @Query() query: ExplainQuery): ExplainResult {
    const tenant = query.tenant ?? caller.tenant;
    if (tenant === null) throw new InvalidRequestError('tenant_required', 'Name the tenant to explain a decision in.');
    // Across tenants only with platform:authz:explain-all (platform operators), like the audit trail.
    if (tenant !== caller.tenant && !this.policy.decide(caller, [PLATFORM_PERMISSIONS.authzExplainAll]).allowed) {
      throw new ForbiddenChangeError('other_tenant', 'You can only explain decisions within your own tenant.');
    }
    if (!isExactPermission(query.permission) || !this.registry.permissions().has(query.permission)) {
      throw new InvalidRequestError(
        'unknown_permission',
        `"${query.permission}" is not a permission any app declares.`,
      );
    }
    const boundRoles = [...this.access.rolesOf(tenant, query.subject)];
    const tokenRoles = query.roles ?? [];
    const type = query.actor ? 'user' : (query.type ?? 'user');
    // A machine (or the agent acting for the subject) as the guard sees it: its token's scopes
    // within what its service account is granted (a client-credentials subject is its client id).
    const client = query.actor ?? (type === 'service' ? query.subject : undefined);
    const account = client === undefined ? undefined : this.access.serviceAccount(tenant, client);
    const tokenScopes = query.scopes ?? (account ? [...account.scopes] : []);
    const scopes = account ? tokenScopes.filter((scope) => account.scopes.has(scope)) : tokenScopes;
    const explanation = this.policy.explain({ type, roles: tokenRoles, scopes, tenant }, query.permission, boundRoles);
    // Delegation: the person's roles (above) and the agent's scopes must both grant.
    const actorSide = query.actor
      ? this.policy.explain({ type: 'service', roles: [], scopes, tenant }, query.permission)
      : undefined;
    let reason: ExplainResult['reason'] = explanation.reason;
    let allowed = explanation.allowed && (actorSide?.allowed ?? true);
    const scopeSide = type === 'service' || (actorSide !== undefined && explanation.allowed);
    if (client !== undefined && !account && this.config.serviceAccountsRequired) {
      [allowed, reason] = [false, 'service_account_not_registered'];
    } else if (scopeSide && !allowed) {
      const withAllTokenScopes = this.policy.explain(
        { type: 'service', roles: [], scopes: tokenScopes, tenant },
        query.permission,
      ).allowed;
      reason = account && withAllTokenScopes ? 'scope_not_granted' : 'insufficient_scope';
    }
    if (query.actor && this.config.delegationMaxDepth < 1) [allowed, reason] = [false, 'delegation_too_deep'];
    if (
      this.access.isDeactivated(tenant, query.subject) ||
      (query.actor !== undefined && this.access.isDeactivated(tenant, query.actor)) ||
      (account && !account.active)
    )
      [allowed, reason] = [false, 'principal_deactivated'];
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
      ...(client !== undefined && { grantedScopes: account ? [...account.scopes] : null }),
      ...(query.actor && { actor: query.actor, actorGrantedBy: actorSide?.grantedBy ?? [] }),
    };
  }
}
