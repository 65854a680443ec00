import { bigint, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { invoices } from '../invoices/invoice.schema';

/**
 * Payments recorded against an invoice, in the invoice's currency and integer minor units.
 * `pending` until the payment provider's webhook says `settled` (or `failed`).
 */
export const payments = pgTable(
  'billing_payments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    status: text('status', { enum: ['pending', 'settled', 'failed'] })
      .notNull()
      .default('pending'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
    settledAt: timestamp('settled_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [index('billing_payments_invoice_idx').on(t.tenant, t.invoiceId, t.createdAt, t.id)],
);

/** Payment-provider webhook events already processed, by the provider's event id (replays are not processed twice). */
export const webhookEvents = pgTable('billing_webhook_events', {
  eventId: text('event_id').primaryKey(),
  type: text('type').notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
});

export type PaymentRow = typeof payments.$inferSelect;
