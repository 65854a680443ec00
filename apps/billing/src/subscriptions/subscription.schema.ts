import { sql } from 'drizzle-orm';
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { plans } from '../plans/plan.schema';

/** A tenant's subscription to a plan; at most one active subscription per tenant. */
export const subscriptions = pgTable(
  'billing_subscriptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    planId: uuid('plan_id')
      .notNull()
      .references(() => plans.id),
    status: text('status', { enum: ['active', 'canceled'] })
      .notNull()
      .default('active'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
    canceledAt: timestamp('canceled_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [
    uniqueIndex('billing_subscriptions_one_active_uq')
      .on(t.tenant)
      .where(sql`status = 'active'`),
    index('billing_subscriptions_tenant_created_idx').on(t.tenant, t.createdAt, t.id),
  ],
);

export type SubscriptionRow = typeof subscriptions.$inferSelect;
