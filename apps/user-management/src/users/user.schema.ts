import { pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** People and machines seen by the platform, one row per (tenant, issuer, subject). */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    type: text('type', { enum: ['user', 'service'] }).notNull(),
    email: text('email'),
    name: text('name'),
    // Millisecond precision: the same as JavaScript dates, so list cursors are exact.
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_tenant_issuer_subject_uq').on(t.tenant, t.issuer, t.subject)],
);

export type UserRow = typeof users.$inferSelect;

/** Tenants (organizations) the platform has seen, created just in time with their first user. */
export const tenants = pgTable('tenants', {
  /** The tenant key tokens carry (the `tenant` claim, or the preset's equivalent). */
  key: text('key').primaryKey(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
});

export type TenantRow = typeof tenants.$inferSelect;
