import { Injectable } from '@nestjs/common';
import { AuditOutbox } from '@platform/audit';
import type { TenantPrincipal } from '@platform/auth';
import {
  ConflictError,
  InvalidRequestError,
  readPage,
  ResourceNotFoundError,
  type Page,
  type PageQuery,
  type ServedRequest,
} from '@platform/http';
import { MAX_AMOUNT_MINOR, toInvoiceDto, type CreateInvoiceInput, type InvoiceDto } from './invoice.dto';
import { assertTransition, type InvoiceStatus } from './invoice-state';
import { InvoicesRepository } from './invoices.repository';

/** Invoices of the caller's tenant. Totals are computed here, in integer minor units. */
@Injectable()
export class InvoicesService {
  /** Domain events (`@Audited()` on the routes) are written in the transaction of the change. */
  constructor(
    private readonly repository: InvoicesRepository,
    private readonly outbox: AuditOutbox,
  ) {}

  /**
   * @param served the request (its `billing.invoice.created` event is written in the invoice's transaction)
   * @throws InvalidRequestError `amount_too_large` when a line or the total exceeds {@link MAX_AMOUNT_MINOR}
   */
  async create(principal: TenantPrincipal, input: CreateInvoiceInput, served: ServedRequest): Promise<InvoiceDto> {
    const lines = input.lines.map((line) => ({
      description: line.description,
      quantity: line.quantity,
      unitAmountMinor: line.unitAmount,
      amountMinor: line.quantity * line.unitAmount,
    }));
    const totalMinor = lines.reduce((sum, line) => sum + line.amountMinor, 0);
    if (totalMinor > MAX_AMOUNT_MINOR || lines.some((l) => l.amountMinor > MAX_AMOUNT_MINOR)) {
      throw new InvalidRequestError(
        'amount_too_large',
        `An invoice total may not exceed ${MAX_AMOUNT_MINOR} minor units.`,
      );
    }
    const created = await this.repository.create(
      {
        tenant: principal.tenant,
        customer: input.customer,
        currency: input.currency,
        totalMinor,
        createdBy: principal.subject,
        lines,
      },
      (tx, invoice) => this.outbox.record(tx, { resourceId: invoice.id }, served),
    );
    return toInvoiceDto(created.invoice, created.lines);
  }

  /** @throws ResourceNotFoundError `invoice_not_found`, also for another tenant's invoice */
  async get(principal: TenantPrincipal, id: string): Promise<InvoiceDto> {
    const found = await this.repository.findInTenant(principal.tenant, id);
    if (!found) throw new ResourceNotFoundError('invoice_not_found', 'No invoice with this id exists in your tenant.');
    return toInvoiceDto(found.invoice, found.lines);
  }

  async list(principal: TenantPrincipal, query: PageQuery): Promise<Page<InvoiceDto>> {
    return readPage(
      query,
      (limit, after) => this.repository.listByTenant(principal.tenant, limit, after),
      (row) => toInvoiceDto(row),
    );
  }

  /**
   * Moves an invoice along its state machine (`open`: draft -> open; `void`: draft or open -> void,
   * when no payment is pending or settled). `served`: the request, whose event is written in the change's transaction.
   * @throws ResourceNotFoundError `invoice_not_found`; ConflictError 409 `invalid_transition`, `invoice_has_payments`
   */
  async transition(
    principal: TenantPrincipal,
    id: string,
    to: Extract<InvoiceStatus, 'open' | 'void'>,
    served: ServedRequest,
  ): Promise<InvoiceDto> {
    const row = await this.repository.transition(principal.tenant, id, to, (tx, invoice) =>
      this.outbox.record(tx, { resourceId: invoice.id }, served),
    );
    if (row) return toInvoiceDto(row);
    const current = await this.get(principal, id);
    assertTransition(current.status as InvoiceStatus, to);
    if (to === 'void')
      throw new ConflictError('invoice_has_payments', 'An invoice with pending or settled payments cannot be voided.');
    // Unreachable unless the invoice changed between the two statements: report its state now.
    throw new ConflictError('invalid_transition', `The invoice is ${current.status}.`, { from: current.status, to });
  }
}
