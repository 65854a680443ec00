import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuditController } from './audit.controller';
import { AuthzController } from './authz.controller';
import { HealthController } from './health.controller';
import { InventoryController } from './inventory.controller';
import { MetricsController } from './metrics.controller';
import { SecretsController } from './secrets.controller';

/** The platform's own endpoints: health probes, the audit trail, inventory, explain, metrics, secrets. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, AuditController, InventoryController, AuthzController, MetricsController, SecretsController],
})
export class PlatformModule {}
