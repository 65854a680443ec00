import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * What a request finally got, apart from the authorization decision (OWASP ASVS 5.0 V16.3.2):
 * - `success`: answered below 400;
 * - `denied`: refused by the authorization decision (`decision` deny: 401, 403, 429);
 * - `refused`: allowed by the decision, then refused by the handler with a 4xx (`errorReason` says why),
 *   e.g. decision `allow`, status 403, `cannot_deactivate_self`;
 * - `rejected`: answered 4xx before any decision (unknown route, unreadable body);
 * - `failed`: a 5xx (the platform or a dependency failed);
 * - `abandoned`: the client went away before the answer (status 499).
 */
export const AUDIT_OUTCOMES = ['success', 'denied', 'refused', 'rejected', 'failed', 'abandoned'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** The outcome of an answered request from its decision and status (499: the client left). */
export function outcomeOf(decision: 'allow' | 'deny' | null | undefined, status: number): AuditOutcome {
  if (status === 499) return 'abandoned';
  if (status >= 500) return 'failed';
  if (decision === 'deny') return 'denied';
  if (status < 400) return 'success';
  return decision === 'allow' ? 'refused' : 'rejected';
}

/** One actor of a delegation chain as the audit trail stores it (current actor first). */
export interface AuditActor {
  subject: string;
  clientId: string | null;
}

/**
 * The audit trail, append-only (a trigger refuses UPDATE, DELETE and TRUNCATE) and hash-chained
 * (`hash` = SHA-256 over `prev_hash` and the record's content, see audit-chain.ts).
 *
 * Two kinds of record: `access`, exactly one per request answered by the platform (`decision` is
 * null when the request never reached authorization: unknown route, unreadable body); and `event`,
 * a domain event a handler declared with `@Audited()` (`event`, `resource_id`), written only when
 * the request succeeded, with the same request and trace ids.
 */
export const auditRecords = pgTable(
  'audit_records',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Unique id given when the record is made: replaying the journal twice never duplicates a record. */
    recordId: uuid('record_id').notNull().defaultRandom(),
    kind: text('kind', { enum: ['access', 'event'] })
      .notNull()
      .default('access'),
    /** Domain event name (`billing.invoice.created`), for `kind = 'event'`. */
    event: text('event'),
    /** Id of the resource a domain event is about. */
    resourceId: text('resource_id'),
    /** W3C trace id (32 hex digits) of the request. */
    traceId: text('trace_id'),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    requestId: text('request_id').notNull(),
    /** The authorization decision (the guard's); kept apart from `outcome`, what the request finally got. */
    decision: text('decision', { enum: ['allow', 'deny'] }),
    reason: text('reason'),
    errorReason: text('error_reason'),
    /** The final outcome of the request, see {@link AUDIT_OUTCOMES}; null only on rows older than the column. */
    outcome: text('outcome', { enum: AUDIT_OUTCOMES }),
    subject: text('subject'),
    principalType: text('principal_type', { enum: ['user', 'service'] }),
    clientId: text('client_id'),
    /** Delegation chain (RFC 8693 `act`): who acted for `subject`, current actor first; null when the subject acted itself. */
    actors: jsonb('actors').$type<AuditActor[]>(),
    /** True when the token was DPoP-bound (`cnf.jkt`, RFC 9449): its proof passed when the decision is allow, failed when `invalid_dpop_proof`; null without a principal. */
    dpopBound: boolean('dpop_bound'),
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
    /** `hash` of the previous record in id order (64 zeros for the first). Null only on rows older than the chain. */
    prevHash: text('prev_hash'),
    hash: text('hash'),
  },
  (t) => [
    index('audit_records_tenant_id_idx').on(t.tenant, t.id),
    index('audit_records_subject_id_idx').on(t.subject, t.id),
    index('audit_records_decision_id_idx').on(t.decision, t.id),
    uniqueIndex('audit_records_record_id_uq').on(t.recordId),
    index('audit_records_client_id_idx').on(t.clientId, t.id),
    index('audit_records_occurred_at_idx').on(t.occurredAt),
    // Lookups by request, trace and domain event (QA, support, export).
    index('audit_records_request_id_idx').on(t.requestId),
    index('audit_records_trace_id_idx').on(t.traceId),
    index('audit_records_event_id_idx')
      .on(t.event, t.id)
      .where(sql`event is not null`),
    // "What did this agent do, for whom": containment queries on the chain.
    index('audit_records_actors_idx').using('gin', sql`${t.actors} jsonb_path_ops`),
  ],
);

export type AuditRow = typeof auditRecords.$inferSelect;
/** A record as the writer queues it: everything but the database id and the chain hashes. */
export type NewAuditRow = Omit<typeof auditRecords.$inferInsert, 'id' | 'prevHash' | 'hash' | 'recordId' | 'kind'> & {
  recordId: string;
  kind: 'access' | 'event';
};
