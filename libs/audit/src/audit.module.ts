import { Global, Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository';
import { AuditWriter } from './audit-writer';

/** The audit trail: batched writer and repository. The root app registers its Fastify hooks. */
@Global()
@Module({
  providers: [AuditRepository, AuditWriter],
  exports: [AuditRepository, AuditWriter],
})
export class AuditModule {}
