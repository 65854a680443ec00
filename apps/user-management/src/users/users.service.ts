import { Injectable } from '@nestjs/common';
import { AccessStateService, PolicyService, type Principal, type TenantPrincipal } from '@platform/auth';
import {
  ConflictError,
  ForbiddenChangeError,
  readPage,
  InvalidRequestError,
  ResourceNotFoundError,
  type Page,
  type PageQuery,
} from '@platform/http';
import { toUserDto, type UserDto } from './user.dto';
import type { UserRow } from './user.schema';
import { profileOf, UserProvisioner } from './user-provisioner';
import { UsersRepository } from './users.repository';

/**
 * The people and machines of a tenant: just-in-time provisioning from tokens, role bindings and
 * deactivation. Bindings and status live in the platform's access state (@platform/auth), which
 * every instance applies within a second.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly repository: UsersRepository,
    private readonly access: AccessStateService,
    private readonly policy: PolicyService,
    private readonly provisioner: UserProvisioner,
  ) {}

  /** The caller's own record, provisioned just in time from the token's claims. */
  async me(principal: TenantPrincipal): Promise<UserDto> {
    return this.view(await this.provisioner.provision(profileOf(principal)));
  }

  /** Every tenant the caller's identity belongs to (one user record per tenant). */
  async memberships(principal: Principal): Promise<Array<{ tenant: string; userId: string; lastSeenAt: string }>> {
    const rows = await this.repository.membershipsOf(principal.issuer, principal.subject);
    return rows.map((row) => ({ tenant: row.tenant, userId: row.id, lastSeenAt: row.lastSeenAt.toISOString() }));
  }

  /** The caller's tenant: when it was first seen and how many users it has. */
  async tenant(principal: TenantPrincipal): Promise<{ key: string; createdAt: string; users: number }> {
    await this.provisioner.provision(profileOf(principal));
    const found = await this.repository.tenantWithCounts(principal.tenant);
    if (!found) throw new ResourceNotFoundError('tenant_not_found', 'Your tenant is not known yet.');
    return { key: found.tenant.key, createdAt: found.tenant.createdAt.toISOString(), users: found.users };
  }

  /** Users of the caller's tenant. */
  async list(principal: TenantPrincipal, query: PageQuery): Promise<Page<UserDto>> {
    return readPage(
      query,
      (limit, after) => this.repository.listByTenant(principal.tenant, limit, after),
      (row) => this.view(row),
    );
  }

  /** @throws ResourceNotFoundError `user_not_found`, also for another tenant's user */
  async get(principal: TenantPrincipal, id: string): Promise<UserDto> {
    return this.view(await this.find(principal, id));
  }

  /**
   * Grants a platform role to a user of the caller's tenant.
   * @throws InvalidRequestError `unknown_role`; ForbiddenChangeError `cannot_grant_unheld_role` when the caller does not hold it
   */
  async grantRole(principal: TenantPrincipal, id: string, role: string): Promise<UserDto> {
    const user = await this.find(principal, id);
    this.assertMayManage(principal, role);
    await this.access.grant(user.tenant, user.subject, role, principal.subject);
    return this.view(user);
  }

  /** Revokes a bound role. @throws ResourceNotFoundError `binding_not_found` when it was not bound */
  async revokeRole(principal: TenantPrincipal, id: string, role: string): Promise<UserDto> {
    const user = await this.find(principal, id);
    // A binding to a role the policy no longer has can always be cleaned up.
    if (Object.hasOwn(this.policy.current.roles, role)) this.assertMayManage(principal, role);
    if (!(await this.access.revoke(user.tenant, user.subject, role))) {
      throw new ResourceNotFoundError('binding_not_found', `"${role}" is not bound to this user.`);
    }
    return this.view(user);
  }

  /** Denies the user everywhere, whatever its tokens say. @throws ConflictError `cannot_deactivate_self` */
  async deactivate(principal: TenantPrincipal, id: string): Promise<UserDto> {
    const user = await this.find(principal, id);
    if (user.subject === principal.subject)
      throw new ConflictError('cannot_deactivate_self', 'You cannot deactivate yourself.');
    await this.access.deactivate(user.tenant, user.subject, principal.subject);
    return this.view(user);
  }

  async reactivate(principal: TenantPrincipal, id: string): Promise<UserDto> {
    const user = await this.find(principal, id);
    await this.access.reactivate(user.tenant, user.subject);
    return this.view(user);
  }

  private async find(principal: TenantPrincipal, id: string): Promise<UserRow> {
    const user = await this.repository.findInTenant(principal.tenant, id);
    if (!user) throw new ResourceNotFoundError('user_not_found', 'No user with this id exists in your tenant.');
    return user;
  }

  /** A tenant admin may hand out (or take back) only roles they hold themselves. */
  private assertMayManage(principal: TenantPrincipal, role: string): void {
    // Machines have no roles (their roles claim is ignored), so they can hand out none.
    if (principal.type === 'service')
      throw new ForbiddenChangeError('cannot_grant_unheld_role', 'Machine clients cannot grant or revoke roles.');
    if (!Object.hasOwn(this.policy.current.roles, role))
      throw new InvalidRequestError('unknown_role', `"${role}" is not a platform role.`);
    if (!this.policy.effectiveRoles(principal).includes(role)) {
      throw new ForbiddenChangeError(
        'cannot_grant_unheld_role',
        `You can only grant or revoke roles you hold, and you do not hold "${role}".`,
      );
    }
  }

  private view(row: UserRow): UserDto {
    return toUserDto(row, {
      boundRoles: this.access.rolesOf(row.tenant, row.subject),
      deactivated: this.access.isDeactivated(row.tenant, row.subject),
    });
  }
}
