import { bigserial, doublePrecision, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The audit trail: one row per request answered by the platform, append-only (a trigger refuses
 * UPDATE and DELETE). `decision` is null when the request never reached authorization
 * (unknown route, unreadable body).
 */
export const auditRecords = pgTable(
  'audit_records',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    requestId: text('request_id').notNull(),
    decision: text('decision', { enum: ['allow', 'deny'] }),
    reason: text('reason'),
    errorReason: text('error_reason'),
    subject: text('subject'),
    principalType: text('principal_type', { enum: ['user', 'service'] }),
    clientId: text('client_id'),
    tenant: text('tenant'),
    issuer: text('issuer'),
    app: text('app'),
    method: text('method').notNull(),
    route: text('route'),
    path: text('path').notNull(),
    requiredPermissions: text('required_permissions').array().notNull(),
    status: integer('status').notNull(),
    durationMs: doublePrecision('duration_ms').notNull(),
    clientIp: text('client_ip'),
    details: jsonb('details').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_records_tenant_id_idx').on(t.tenant, t.id),
    index('audit_records_subject_id_idx').on(t.subject, t.id),
    index('audit_records_decision_id_idx').on(t.decision, t.id),
  ],
);

export type AuditRow = typeof auditRecords.$inferSelect;
export type NewAuditRow = typeof auditRecords.$inferInsert;
