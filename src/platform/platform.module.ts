import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuditController } from './audit.controller';
import { AuthzController } from './authz.controller';
import { HealthController } from './health.controller';
import { InventoryController } from './inventory.controller';

/** The platform's own endpoints: health probes and the audit trail. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, AuditController, InventoryController, AuthzController],
})
export class PlatformModule {}
