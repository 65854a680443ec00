import { bigint, boolean, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * The plan catalogue, platform-wide (not per tenant): managed by platform operators, read by
 * every tenant that subscribes. Price in integer minor units of `currency` (ISO 4217) per `interval`.
 */
export const plans = pgTable(
  'billing_plans',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    code: text('code').notNull(),
    name: text('name').notNull(),
    currency: text('currency').notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    interval: text('interval', { enum: ['month', 'year'] }).notNull(),
    active: boolean('active').notNull().default(true),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('billing_plans_code_uq').on(t.code)],
);

export type PlanRow = typeof plans.$inferSelect;
