import { bigserial, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Product events sent by people or machines, per tenant. */
export const analyticsEvents = pgTable(
  'analytics_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenant: text('tenant').notNull(),
    name: text('name').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    properties: jsonb('properties').$type<Record<string, unknown>>().notNull(),
    /** Who sent it (the principal). */
    subject: text('subject').notNull(),
    /** The end user the event is about, when the sender says (a machine reporting for users); else the sender. */
    userId: text('user_id'),
    clientId: text('client_id'),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('analytics_events_tenant_name_time_idx').on(t.tenant, t.name, t.occurredAt)],
);

export type NewAnalyticsEvent = typeof analyticsEvents.$inferInsert;
