// @platform/audit: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { chainHash, GENESIS_HASH, AuditChainVerifier } from './audit-chain';
export { registerAuditHooks, type RequestTracker } from './audit-hooks';
export { AuditOutbox } from './audit-outbox';
export { auditOutbox } from './audit-outbox.schema';
export { AuditWriter } from './audit-writer';
export { AuditModule } from './audit.module';
export { type AuditQuery, AuditRepository } from './audit.repository';
export { AUDIT_OUTCOMES, type AuditOutcome, auditRecords, type AuditRow, type NewAuditRow } from './audit.schema';
export { Audited } from './audited.decorator';
