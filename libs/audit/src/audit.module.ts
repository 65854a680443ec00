import { Global, Module } from '@nestjs/common';
import { AuditOutbox } from './audit-outbox';
import { AuditRepository } from './audit.repository';
import { AuditWriter } from './audit-writer';

/** The audit trail: batched writer, transactional outbox and repository. The root app registers its Fastify hooks. */
@Global()
@Module({
  providers: [AuditRepository, AuditWriter, AuditOutbox],
  exports: [AuditRepository, AuditWriter, AuditOutbox],
})
export class AuditModule {}
