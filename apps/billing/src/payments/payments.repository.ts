import { Injectable } from '@nestjs/common';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { DatabaseService, olderThan, type Db } from '@platform/database';
import type { CursorPosition } from '@platform/http';
import { invoices, type InvoiceRow } from '../invoices/invoice.schema';
import { payments, webhookEvents, type PaymentRow } from './payment.schema';

/** What a provider event did (see {@link PaymentsRepository.applyProviderEvent}). */
export type ProviderEventOutcome =
  | { outcome: 'duplicate' }
  | { outcome: 'unknown_payment' }
  | { outcome: 'already_final'; payment: PaymentRow }
  | { outcome: 'applied'; payment: PaymentRow; invoicePaid: boolean };

/** Payments, within one tenant for every caller-facing method; webhook events by the provider's ids. */
@Injectable()
export class PaymentsRepository {
  constructor(private readonly database: DatabaseService) {}

  /**
   * Records a pending payment against an invoice of this tenant, in one transaction that locks the
   * invoice (concurrent payments of one invoice are serialized). `check` sees the invoice and the
   * amount already committed to it (pending and settled payments, minor units) and throws to refuse.
   * `inTransaction` runs in the same transaction after the insert (the domain event, the
   * idempotency key's result): it commits with the payment or not at all.
   *
   * @returns the payment, or undefined when the invoice does not exist in this tenant
   */
  async record(
    tenant: string,
    invoiceId: string,
    payment: { amountMinor: number; currency: string; createdBy: string },
    check: (invoice: InvoiceRow, committedMinor: number) => void,
    inTransaction: (tx: Db, payment: PaymentRow) => Promise<void> = async () => undefined,
  ): Promise<PaymentRow | undefined> {
    return this.database.db.transaction(async (tx) => {
      const [invoice] = await tx
        .select()
        .from(invoices)
        .where(and(eq(invoices.tenant, tenant), eq(invoices.id, invoiceId)))
        .for('update');
      if (!invoice) return undefined;
      const [{ committed }] = await tx
        .select({ committed: sql<string>`coalesce(sum(${payments.amountMinor}), 0)` })
        .from(payments)
        .where(and(eq(payments.invoiceId, invoiceId), inArray(payments.status, ['pending', 'settled'])));
      check(invoice, Number(committed));
      const [row] = await tx
        .insert(payments)
        .values({ tenant, invoiceId, ...payment })
        .returning();
      await inTransaction(tx, row);
      return row;
    });
  }

  async listForInvoice(
    tenant: string,
    invoiceId: string,
    limit: number,
    cursor?: CursorPosition,
  ): Promise<PaymentRow[]> {
    return this.database.db
      .select()
      .from(payments)
      .where(
        and(
          eq(payments.tenant, tenant),
          eq(payments.invoiceId, invoiceId),
          olderThan(payments.createdAt, payments.id, cursor),
        ),
      )
      .orderBy(desc(payments.createdAt), desc(payments.id))
      .limit(limit);
  }

  /**
   * Applies a payment provider's event exactly once, in one transaction: records the event id
   * (a replayed id is a `duplicate` and changes nothing), settles or fails the pending payment,
   * and marks the invoice `paid` once its settled payments cover the total. Not tenant-scoped by
   * the caller: the provider is authenticated by the webhook signature, and the payment row names
   * the tenant.
   */
  async applyProviderEvent(
    eventId: string,
    type: string,
    paymentId: string,
    status: 'settled' | 'failed',
  ): Promise<ProviderEventOutcome> {
    return this.database.db.transaction(async (tx) => {
      const claimed = await tx
        .insert(webhookEvents)
        .values({ eventId, type })
        .onConflictDoNothing()
        .returning({ eventId: webhookEvents.eventId });
      if (claimed.length === 0) return { outcome: 'duplicate' };
      // Lock order as in record(): the invoice, then its payment. Two settlements of one invoice
      // are serialized, so the second sees the first and the invoice cannot stay open once covered.
      const [found] = await tx
        .select({ invoiceId: payments.invoiceId })
        .from(payments)
        .where(eq(payments.id, paymentId));
      if (!found) return { outcome: 'unknown_payment' };
      await tx.select({ id: invoices.id }).from(invoices).where(eq(invoices.id, found.invoiceId)).for('update');
      const [payment] = await tx.select().from(payments).where(eq(payments.id, paymentId)).for('update');
      if (payment.status !== 'pending') return { outcome: 'already_final', payment };
      const [updated] = await tx
        .update(payments)
        .set({ status, settledAt: status === 'settled' ? new Date() : null })
        .where(eq(payments.id, paymentId))
        .returning();
      if (status !== 'settled') return { outcome: 'applied', payment: updated, invoicePaid: false };
      const [{ settled }] = await tx
        .select({ settled: sql<string>`coalesce(sum(${payments.amountMinor}), 0)` })
        .from(payments)
        .where(and(eq(payments.invoiceId, payment.invoiceId), eq(payments.status, 'settled')));
      const paid = await tx
        .update(invoices)
        .set({ status: 'paid' })
        .where(
          and(
            eq(invoices.id, payment.invoiceId),
            eq(invoices.status, 'open'),
            sql`${invoices.totalMinor} <= ${Number(settled)}`,
          ),
        )
        .returning({ id: invoices.id });
      return { outcome: 'applied', payment: updated, invoicePaid: paid.length === 1 };
    });
  }
}
