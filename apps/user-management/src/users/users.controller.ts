import { Controller, Get, Query } from '@nestjs/common';
import { Authenticated, CurrentPrincipal, RequirePermissions, type Principal } from '@platform/auth';
import { PageQuery, type Page } from '@platform/http';
import type { UserDto } from './user.dto';
import { UsersService } from './users.service';
import { USER_PERMISSIONS } from '../user-management.manifest';

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** The caller's own profile; creates it on first sight. */
  @Get('me')
  @Authenticated()
  me(@CurrentPrincipal() principal: Principal): Promise<UserDto> {
    return this.users.me(principal);
  }

  /** Users of the caller's tenant (tenant admins). */
  @Get()
  @RequirePermissions(USER_PERMISSIONS.usersRead)
  list(@CurrentPrincipal() principal: Principal, @Query() query: PageQuery): Promise<Page<UserDto>> {
    return this.users.list(principal, query);
  }
}
