import { bigserial, jsonb, pgTable, timestamp } from 'drizzle-orm/pg-core';
import type { NewAuditRow } from './audit.schema';

/**
 * Domain events written in the same transaction as the change they describe (transactional
 * outbox). A committed row is moved into the hash-chained `audit_records` by the audit writer,
 * in `id` order, in the transaction that appends its next batch (so it is chained exactly once);
 * rows left by a crash are moved by the next flush of any instance.
 */
export const auditOutbox = pgTable('audit_outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** The event record as the writer queues it (`NewAuditRow`, dates as ISO strings). */
  record: jsonb('record').$type<NewAuditRow>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
});
