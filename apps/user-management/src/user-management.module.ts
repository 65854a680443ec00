import { Module } from '@nestjs/common';
import { ServiceAccountsController } from './service-accounts/service-accounts.controller';
import { ServiceAccountsService } from './service-accounts/service-accounts.service';
import { UserProvisioner } from './users/user-provisioner';
import { UsersController } from './users/users.controller';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

/** user-management: the people and machines of each tenant (users, role bindings, service accounts). */
@Module({
  controllers: [UsersController, ServiceAccountsController],
  providers: [UsersService, UsersRepository, UserProvisioner, ServiceAccountsService],
})
export class UserManagementModule {}
