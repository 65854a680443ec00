import { Controller, Get, Module } from '@nestjs/common';
import { Public, RequirePermissions } from '@platform/auth';

/** C09: class-level requirement; one handler inherits it, one overrides it. */
@Controller('fixtures/users/admin')
@RequirePermissions('users:admin:manage')
class UsersAdminFixture {
  @Get('export')
  export() {
    return { exported: true };
  }

  @Get('lookup')
  @RequirePermissions('users:support:lookup')
  lookup() {
    return { found: true };
  }

  /** C08 (c): an allowed request whose handler fails. */
  @Get('boom')
  boom(): never {
    throw new Error('boom: database password is hunter2');
  }
}

/** C09: a public class. */
@Controller('fixtures/health')
@Public()
class PublicFixture {
  @Get()
  ok() {
    return { ok: true };
  }
}

/** C09: one public handler beside a protected one, and one with no policy at all. */
@Controller('fixtures/billing')
class MixedFixture {
  @Get('pricing')
  @Public()
  pricing() {
    return { plans: ['free', 'pro'] };
  }

  @Get('invoices')
  @RequirePermissions('billing:invoices:read')
  invoices() {
    return { items: [] };
  }

  @Get('forgotten')
  forgotten() {
    return { leaked: true };
  }
}

/** Fixture routes mounted beside the real apps by the guard suites. */
@Module({ controllers: [UsersAdminFixture, PublicFixture, MixedFixture] })
export class GuardFixturesModule {}
