import { Injectable } from '@nestjs/common';
import { and, asc, desc, eq, lt, or } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import type { CursorPosition } from '@platform/http';
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
  constructor(private readonly database: DatabaseService) {}

  /** Inserts the invoice and its lines in one transaction: all or nothing. */
  async create(invoice: NewInvoice): Promise<{ invoice: InvoiceRow; lines: InvoiceLineRow[] }> {
    return this.database.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(invoices)
        .values({ tenant: invoice.tenant, customer: invoice.customer, currency: invoice.currency, totalMinor: invoice.totalMinor, createdBy: invoice.createdBy })
        .returning();
      const lines = await tx
        .insert(invoiceLines)
        .values(invoice.lines.map((line, position) => ({ ...line, position, invoiceId: row.id })))
        .returning();
      return { invoice: row, lines };
    });
  }

  /** The invoice if it exists in this tenant; undefined otherwise (another tenant's is invisible). */
  async findInTenant(tenant: string, id: string): Promise<{ invoice: InvoiceRow; lines: InvoiceLineRow[] } | undefined> {
    const [row] = await this.database.db.select().from(invoices).where(and(eq(invoices.tenant, tenant), eq(invoices.id, id)));
    if (!row) return undefined;
    const lines = await this.database.db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, id)).orderBy(asc(invoiceLines.position));
    return { invoice: row, lines };
  }

  /** Invoices of one tenant, newest first, after `cursor`. */
  async listByTenant(tenant: string, limit: number, cursor?: CursorPosition): Promise<InvoiceRow[]> {
    const after = cursor
      ? or(lt(invoices.createdAt, cursor.createdAt), and(eq(invoices.createdAt, cursor.createdAt), lt(invoices.id, cursor.id)))
      : undefined;
    return this.database.db
      .select()
      .from(invoices)
      .where(and(eq(invoices.tenant, tenant), after))
      .orderBy(desc(invoices.createdAt), desc(invoices.id))
      .limit(limit);
  }
}
