import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '@platform/audit';
import { Authenticated, CurrentPrincipal, RequirePermissions, type Principal, TenantPrincipal } from '@platform/auth';
import { PageQuery, UuidParam, type Page } from '@platform/http';
import { USER_PERMISSIONS } from '../user-management.manifest';
import { GrantRoleInput, type UserDto } from './user.dto';
import { UsersService } from './users.service';

@ApiTags('user-management')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** The caller's own profile; creates it on first sight. */
  @Get('me')
  @Authenticated()
  me(@TenantPrincipal() principal: TenantPrincipal): Promise<UserDto> {
    return this.users.me(principal);
  }

  /** Every tenant the caller belongs to. */
  @Get('me/memberships')
  @ApiOperation({ summary: "The tenants the caller's identity is a member of" })
  @Authenticated({ tenant: 'optional' })
  memberships(@CurrentPrincipal() principal: Principal) {
    return this.users.memberships(principal);
  }

  /** The caller's tenant (organization). */
  @Get('tenant')
  @ApiOperation({ summary: "The caller's tenant: first seen, number of users" })
  @RequirePermissions(USER_PERMISSIONS.usersRead)
  tenant(@TenantPrincipal() principal: TenantPrincipal) {
    return this.users.tenant(principal);
  }

  /** Users of the caller's tenant (tenant admins). */
  @Get()
  @RequirePermissions(USER_PERMISSIONS.usersRead)
  list(@TenantPrincipal() principal: TenantPrincipal, @Query() query: PageQuery): Promise<Page<UserDto>> {
    return this.users.list(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One user of the tenant, with bound roles and status' })
  @RequirePermissions(USER_PERMISSIONS.usersRead)
  get(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<UserDto> {
    return this.users.get(principal, id);
  }

  /** Grants a platform role the caller holds; effective on every instance within a second. */
  @Post(':id/roles')
  @HttpCode(200)
  @RequirePermissions(USER_PERMISSIONS.rolesManage)
  @Audited('users.role.granted')
  grant(
    @TenantPrincipal() principal: TenantPrincipal,
    @UuidParam() id: string,
    @Body() input: GrantRoleInput,
  ): Promise<UserDto> {
    return this.users.grantRole(principal, id, input.role);
  }

  /** Revokes a bound role (roles the token carries belong to the identity provider). */
  @Delete(':id/roles/:role')
  @RequirePermissions(USER_PERMISSIONS.rolesManage)
  @Audited('users.role.revoked')
  revoke(
    @TenantPrincipal() principal: TenantPrincipal,
    @UuidParam() id: string,
    @Param('role') role: string,
  ): Promise<UserDto> {
    return this.users.revokeRole(principal, id, role);
  }

  /** Denies the user everywhere, even with a still-valid token. */
  @Post(':id/deactivate')
  @HttpCode(200)
  @RequirePermissions(USER_PERMISSIONS.usersManage)
  @Audited('users.user.deactivated')
  deactivate(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<UserDto> {
    return this.users.deactivate(principal, id);
  }

  /** Lets a deactivated user in again. */
  @Post(':id/reactivate')
  @HttpCode(200)
  @RequirePermissions(USER_PERMISSIONS.usersManage)
  @Audited('users.user.reactivated')
  reactivate(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<UserDto> {
    return this.users.reactivate(principal, id);
  }
}
