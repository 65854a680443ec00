import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  Authenticated,
  CurrentPrincipal,
  PolicyService,
  RequirePermissions,
  RouteInventory,
  type Principal,
} from '@platform/auth';
import { AppRegistry } from '@platform/feature-apps';
import { buildAccessMap, type AccessMap } from './access-map';
import { PLATFORM_PERMISSIONS } from '../platform/platform-permissions';

/** What the caller holds: the console shows only the pages whose API the caller may use. */
export interface MeView {
  subject: string;
  type: Principal['type'];
  tenant: string | null;
  /** Effective platform roles (token roles after mappings, bound roles, and what they include). */
  roles: string[];
  /** Every permission declared by an app that the caller's roles (or scopes) grant. */
  permissions: string[];
}

/** Read-only views of the policy for the console: who may call what, and what the caller may do. */
@ApiTags('platform')
@Controller('platform')
export class AccessMapController {
  constructor(
    private readonly inventory: RouteInventory,
    private readonly policy: PolicyService,
    private readonly registry: AppRegistry,
  ) {}

  /**
   * Routes x roles and routes x scopes, resolved from the route inventory and the current policy,
   * each cell with the rule that grants it. Needs the permission that explains decisions: the
   * matrix is the same explanation for every role at once.
   */
  @Get('access-map')
  @ApiOperation({
    summary: 'Routes x roles and scopes from the inventory and the policy, each cell with its grant path',
  })
  @RequirePermissions(PLATFORM_PERMISSIONS.authzExplain, { tenant: 'optional' })
  accessMap(@CurrentPrincipal() principal: Principal): AccessMap {
    return buildAccessMap(this.inventory.routes(), this.policy, principal.tenant);
  }

  /** The caller's identity, effective roles and granted permissions, decided by the policy. */
  @Get('me')
  @ApiOperation({ summary: "The caller's identity, effective roles and the declared permissions the policy grants it" })
  @Authenticated({ tenant: 'optional' })
  me(@CurrentPrincipal() principal: Principal): MeView {
    const permissions = [...this.registry.permissions().keys()]
      .filter((permission) => this.policy.decide(principal, [permission]).allowed)
      .sort();
    const roles = principal.type === 'user' ? this.policy.effectiveRoles(principal) : [];
    return { subject: principal.subject, type: principal.type, tenant: principal.tenant, roles, permissions };
  }
}
