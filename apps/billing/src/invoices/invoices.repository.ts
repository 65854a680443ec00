import { Injectable } from '@nestjs/common';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { DatabaseService, olderThan, preparedTableSelect, type Db } from '@platform/database';
import type { CursorPosition } from '@platform/http';
import { payments } from '../payments/payment.schema';
import { statesAllowing, type InvoiceStatus } from './invoice-state';
import { invoiceLines, invoices, type InvoiceLineRow, type InvoiceRow } from './invoice.schema';

/** A new invoice with its computed amounts. */
export interface NewInvoice {
  tenant: string;
  customer: string;
  currency: string;
  totalMinor: number;
  createdBy: string;
  lines: { description: string; quantity: number; unitAmountMinor: number; amountMinor: number }[];
}

@Injectable()
export class InvoicesRepository {
  /**
   * The hot read: invoice and lines in one round trip, SQL built once by drizzle, run as a prepared
   * statement whose rows are mapped by a mapper built once (the same rows as drizzle's `.prepare`).
   */
  private readonly findWithLines;

  constructor(private readonly database: DatabaseService) {
    const selection = { invoice: invoices, line: invoiceLines };
    this.findWithLines = preparedTableSelect(
      database.db,
      database.db
        .select(selection)
        .from(invoices)
        .leftJoin(invoiceLines, eq(invoiceLines.invoiceId, invoices.id))
        .where(and(eq(invoices.tenant, sql.placeholder('tenant')), eq(invoices.id, sql.placeholder('id'))))
        .orderBy(asc(invoiceLines.position)),
      'billing_find_invoice_with_lines',
      selection,
      ['line'],
    );
  }

  /** Inserts the invoice and its lines in one transaction, with what `inTransaction` writes (its domain event): all or nothing. */
  async create(
    invoice: NewInvoice,
    inTransaction: (tx: Db, invoice: InvoiceRow) => Promise<void> = async () => undefined,
  ): Promise<{ invoice: InvoiceRow; lines: InvoiceLineRow[] }> {
    return this.database.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(invoices)
        .values({
          tenant: invoice.tenant,
          customer: invoice.customer,
          currency: invoice.currency,
          totalMinor: invoice.totalMinor,
          createdBy: invoice.createdBy,
        })
        .returning();
      const lines = await tx
        .insert(invoiceLines)
        .values(invoice.lines.map((line, position) => ({ ...line, position, invoiceId: row.id })))
        .returning();
      await inTransaction(tx, row);
      return { invoice: row, lines };
    });
  }

  /** The invoice if it exists in this tenant; undefined otherwise (another tenant's is invisible). */
  async findInTenant(
    tenant: string,
    id: string,
  ): Promise<{ invoice: InvoiceRow; lines: InvoiceLineRow[] } | undefined> {
    const rows = await this.findWithLines({ tenant, id });
    if (rows.length === 0) return undefined;
    const lines: InvoiceLineRow[] = [];
    for (const row of rows) if (row.line) lines.push(row.line);
    return { invoice: rows[0].invoice, lines };
  }

  /** Invoices of one tenant, newest first, after `cursor`. */
  async listByTenant(tenant: string, limit: number, cursor?: CursorPosition): Promise<InvoiceRow[]> {
    return this.database.db
      .select()
      .from(invoices)
      .where(and(eq(invoices.tenant, tenant), olderThan(invoices.createdAt, invoices.id, cursor)))
      .orderBy(desc(invoices.createdAt), desc(invoices.id))
      .limit(limit);
  }

  /**
   * Moves an invoice of this tenant to `to`, only from a state the state machine allows (and, to
   * `void`, only without pending or settled payments), in one statement (two concurrent
   * transitions cannot both win).
   *
   * `inTransaction` (the domain event) runs in the same transaction when the transition happened.
   *
   * @returns the updated invoice, or undefined when it does not exist here or its state forbids it
   */
  async transition(
    tenant: string,
    id: string,
    to: InvoiceStatus,
    inTransaction: (tx: Db, invoice: InvoiceRow) => Promise<void> = async () => undefined,
  ): Promise<InvoiceRow | undefined> {
    // Money recorded against an invoice (pending or settled) keeps it from being voided.
    const noPayments = sql`not exists (select 1 from ${payments} where ${payments.invoiceId} = ${invoices.id} and ${payments.status} in ('pending', 'settled'))`;
    return this.database.db.transaction(async (tx) => {
      const [row] = await tx
        .update(invoices)
        .set({ status: to })
        .where(
          and(
            eq(invoices.tenant, tenant),
            eq(invoices.id, id),
            inArray(invoices.status, statesAllowing(to)),
            to === 'void' ? noPayments : undefined,
          ),
        )
        .returning();
      if (row) await inTransaction(tx, row);
      return row;
    });
  }
}
