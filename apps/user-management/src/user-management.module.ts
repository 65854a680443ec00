import { Module } from '@nestjs/common';
import { UsersController } from './users/users.controller';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

/** user-management: the people and machines of each tenant. */
@Module({
  controllers: [UsersController],
  providers: [UsersService, UsersRepository],
})
export class UserManagementModule {}
