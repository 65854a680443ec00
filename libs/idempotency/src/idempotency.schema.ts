import { integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Idempotency keys (draft-ietf-httpapi-idempotency-key-header): one row per (tenant, subject, key),
 * claimed before the request runs and completed with its response. Scoped per principal, so two
 * principals sending the same key never see each other's responses.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** Empty for principals outside any tenant. */
    tenant: text('tenant').notNull(),
    subject: text('subject').notNull(),
    key: text('key').notNull(),
    /** SHA-256 of method, path and canonical body: the same key with another request is refused. */
    requestHash: text('request_hash').notNull(),
    status: text('status', { enum: ['in_progress', 'completed'] }).notNull(),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
    /** Process (instance id) running the request of an `in_progress` key. */
    leaseOwner: text('lease_owner'),
    /** Fencing token of the claim: completion and release apply only while it is still the key's. */
    leaseToken: text('lease_token'),
    /** Until when the claim holds; after it, a retry takes the key over and runs again. */
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.subject, t.key] })],
);

export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
