import { Controller, Get, Module, Post } from '@nestjs/common';
import { Audited } from '@platform/audit';
import { Public, RequirePermissions } from '@platform/auth';
import type { FeatureApp } from '@platform/feature-apps';

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
    throw new Error('boom');
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

  /** A public route whose handler fails: the 500 of mixed-traffic audit tests. */
  @Get('boom')
  boom(): never {
    throw new Error('boom');
  }
}

/** C09: one public handler beside a protected one. */
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
}

/** A route that forgot its policy: the platform refuses to start with it; the guard refuses it anyway. */
@Controller('fixtures/unguarded')
class UnguardedFixture {
  @Get('forgotten')
  forgotten() {
    return { leaked: true };
  }
}

/** Mounted only where a test proves deny-by-default at start-up and at request time. */
@Module({ controllers: [UnguardedFixture] })
export class UnguardedFixtureModule {}

/**
 * A gate that holds `GET /fixtures/slow` requests until the test opens it, and tells when a given
 * number of them have arrived (for shutdown tests: requests provably in flight).
 */
export class SlowGate {
  static arrived = 0;
  private static waiters: { count: number; resolve: () => void }[] = [];
  private static open?: () => void;
  private static opened = new Promise<void>((resolve) => (SlowGate.open = resolve));

  static arrivals(count: number): Promise<void> {
    if (SlowGate.arrived >= count) return Promise.resolve();
    return new Promise((resolve) => SlowGate.waiters.push({ count, resolve }));
  }

  static release(): void {
    SlowGate.open?.();
  }

  /** Closes the gate again (each test starts with a closed gate). */
  static reset(): void {
    SlowGate.arrived = 0;
    SlowGate.waiters = [];
    SlowGate.opened = new Promise<void>((resolve) => (SlowGate.open = resolve));
  }

  static async enter(): Promise<void> {
    SlowGate.arrived++;
    for (const w of SlowGate.waiters.filter((w) => SlowGate.arrived >= w.count)) w.resolve();
    await SlowGate.opened;
  }
}

@Controller('fixtures/slow')
@Public()
class SlowFixture {
  @Get()
  async slow() {
    await SlowGate.enter();
    return { done: true };
  }

  /** A slow handler declaring a domain event: the client may leave before it succeeds. */
  @Post('event')
  @Audited('fixtures.slow.done')
  async slowEvent() {
    await SlowGate.enter();
    return { id: 'slow-1' };
  }
}

/** Fixture routes mounted beside the real apps by the guard and operations suites. */
@Module({ controllers: [UsersAdminFixture, PublicFixture, MixedFixture, SlowFixture] })
export class GuardFixturesModule {}

/** The fixtures as a feature app: its manifest declares the permissions its routes require. */
export const GUARD_FIXTURES: FeatureApp = {
  manifest: {
    name: 'fixtures',
    prefix: '/fixtures',
    team: 'qa',
    scopes: [],
    permissions: {
      'users:admin:manage': 'fixture: administer users',
      'users:support:lookup': 'fixture: look a user up for support',
      'users:profile:read': 'fixture: read a profile',
    },
  },
  module: GuardFixturesModule,
};

export const UNGUARDED_FIXTURE: FeatureApp = {
  manifest: { name: 'unguarded', prefix: '/fixtures/unguarded', team: 'qa', scopes: [], permissions: {} },
  module: UnguardedFixtureModule,
};
