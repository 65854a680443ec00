import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '@platform/audit';
import { RequirePermissions, TenantPrincipal } from '@platform/auth';
import { PageQuery, UuidParam, type Page } from '@platform/http';
import { USER_PERMISSIONS } from '../user-management.manifest';
import {
  RegisterServiceAccountInput,
  SetServiceAccountScopesInput,
  type ServiceAccountDto,
} from './service-account.dto';
import { ServiceAccountsService } from './service-accounts.service';

/** Machine clients of the caller's tenant (tenant admins). */
@ApiTags('user-management')
@Controller('service-accounts')
export class ServiceAccountsController {
  constructor(private readonly accounts: ServiceAccountsService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's service accounts, newest first" })
  @RequirePermissions(USER_PERMISSIONS.serviceAccountsRead)
  list(@TenantPrincipal() principal: TenantPrincipal, @Query() query: PageQuery): Promise<Page<ServiceAccountDto>> {
    return this.accounts.list(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One service account' })
  @RequirePermissions(USER_PERMISSIONS.serviceAccountsRead)
  get(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<ServiceAccountDto> {
    return this.accounts.get(principal, id);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary:
      'Register a machine client with the scopes it may use (development provider: creates the client and returns its secret once)',
  })
  @RequirePermissions(USER_PERMISSIONS.serviceAccountsManage)
  @Audited('users.service-account.registered')
  register(
    @TenantPrincipal() principal: TenantPrincipal,
    @Body() input: RegisterServiceAccountInput,
  ): Promise<ServiceAccountDto> {
    return this.accounts.register(principal, input);
  }

  @Post(':id/scopes')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replace the scopes the client may use (token scopes beyond them are ignored: scope_not_granted)',
  })
  @RequirePermissions(USER_PERMISSIONS.serviceAccountsManage)
  @Audited('users.service-account.scopes-changed')
  setScopes(
    @TenantPrincipal() principal: TenantPrincipal,
    @UuidParam() id: string,
    @Body() input: SetServiceAccountScopesInput,
  ): Promise<ServiceAccountDto> {
    return this.accounts.setScopes(principal, id, input.scopes);
  }

  @Post(':id/deactivate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deny the client everywhere, even with a valid token' })
  @RequirePermissions(USER_PERMISSIONS.serviceAccountsManage)
  @Audited('users.service-account.deactivated')
  deactivate(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<ServiceAccountDto> {
    return this.accounts.setStatus(principal, id, 'deactivated');
  }

  @Post(':id/reactivate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Allow a deactivated client again' })
  @RequirePermissions(USER_PERMISSIONS.serviceAccountsManage)
  @Audited('users.service-account.reactivated')
  reactivate(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<ServiceAccountDto> {
    return this.accounts.setStatus(principal, id, 'active');
  }
}
