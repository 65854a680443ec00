import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuditController } from './audit.controller';
import { AuditTrailService } from './audit-trail.service';
import { AuthzController } from './authz.controller';
import { HealthController } from './health.controller';
import { InventoryController } from './inventory.controller';
import { MetricsController } from './metrics.controller';
import { ProtectedResourceController, ResourceMetadataChallenges } from './protected-resource.controller';
import { RoleBootstrap } from './role-bootstrap';
import { SecretsController } from './secrets.controller';

/** The platform's own endpoints: health probes, the audit trail, inventory, explain, metrics, secrets, RFC 9728 protected resource metadata. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [
    HealthController,
    AuditController,
    InventoryController,
    AuthzController,
    MetricsController,
    SecretsController,
    ProtectedResourceController,
  ],
  providers: [ResourceMetadataChallenges, RoleBootstrap, AuditTrailService],
})
export class PlatformModule {}
