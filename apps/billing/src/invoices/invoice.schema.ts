import { bigint, bigserial, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Invoices; money is integer minor units of `currency` (ISO 4217). Totals are computed, never sent. */
export const invoices = pgTable(
  'billing_invoices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    customer: text('customer').notNull(),
    currency: text('currency').notNull(),
    totalMinor: bigint('total_minor', { mode: 'number' }).notNull(),
    status: text('status', { enum: ['draft', 'open', 'paid', 'void'] })
      .notNull()
      .default('draft'),
    createdBy: text('created_by').notNull(),
    // Millisecond precision: the same as JavaScript dates, so list cursors are exact.
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('billing_invoices_tenant_created_idx').on(t.tenant, t.createdAt, t.id)],
);

export const invoiceLines = pgTable('billing_invoice_lines', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  invoiceId: uuid('invoice_id')
    .notNull()
    .references(() => invoices.id, { onDelete: 'cascade' }),
  position: integer('position').notNull(),
  description: text('description').notNull(),
  quantity: integer('quantity').notNull(),
  unitAmountMinor: bigint('unit_amount_minor', { mode: 'number' }).notNull(),
  amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
});

export type InvoiceRow = typeof invoices.$inferSelect;
export type InvoiceLineRow = typeof invoiceLines.$inferSelect;
