import { Injectable } from '@nestjs/common';
import { AuditOutbox } from '@platform/audit';
import type { TenantPrincipal } from '@platform/auth';
import { IdempotencyRepository } from '@platform/idempotency';
import {
  ConflictError,
  readPage,
  ResourceNotFoundError,
  UnprocessableRequestError,
  type Page,
  type PageQuery,
  type ServedRequest,
} from '@platform/http';
import { InvoicesService } from '../invoices/invoices.service';
import { toPaymentDto, type PaymentDto, type RecordPaymentInput } from './payment.dto';
import { PaymentsRepository } from './payments.repository';

/** Payments against the tenant's invoices. Amounts are integer minor units of the invoice currency. */
@Injectable()
export class PaymentsService {
  constructor(
    private readonly repository: PaymentsRepository,
    private readonly invoices: InvoicesService,
    private readonly outbox: AuditOutbox,
    private readonly idempotency: IdempotencyRepository,
  ) {}

  /**
   * Records a pending payment (settled later by the provider's webhook). Its domain event
   * (`billing.payment.recorded`) and its `Idempotency-Key`'s response are written in the
   * payment's transaction: after a crash, a retry replays the committed payment or, if none
   * committed, records it; never twice. `served`: the request (its controller's `@Served()`).
   * @throws ResourceNotFoundError `invoice_not_found`; ConflictError 409 `invoice_not_open`;
   *   UnprocessableRequestError 422 `currency_mismatch`, `amount_exceeds_balance`
   */
  async record(
    principal: TenantPrincipal,
    invoiceId: string,
    input: RecordPaymentInput,
    served: ServedRequest,
  ): Promise<PaymentDto> {
    const row = await this.repository.record(
      principal.tenant,
      invoiceId,
      { amountMinor: input.amount, currency: input.currency, createdBy: principal.subject },
      (invoice, committedMinor) => {
        if (invoice.status !== 'open')
          throw new ConflictError(
            'invoice_not_open',
            `Payments are recorded against open invoices; this one is ${invoice.status}.`,
            { invoiceStatus: invoice.status },
          );
        if (input.currency !== invoice.currency)
          throw new UnprocessableRequestError('currency_mismatch', `The invoice is in ${invoice.currency}.`);
        const balance = invoice.totalMinor - committedMinor;
        if (input.amount > balance)
          throw new UnprocessableRequestError(
            'amount_exceeds_balance',
            `At most ${balance} minor units are still unpaid.`,
            { balance },
          );
      },
      async (tx, payment) => {
        await this.outbox.record(tx, { resourceId: payment.id }, served);
        await this.idempotency.completeInTransaction(tx, toPaymentDto(payment), served);
      },
    );
    if (!row) throw new ResourceNotFoundError('invoice_not_found', 'No invoice with this id exists in your tenant.');
    return toPaymentDto(row);
  }

  /** @throws ResourceNotFoundError `invoice_not_found` */
  async list(principal: TenantPrincipal, invoiceId: string, query: PageQuery): Promise<Page<PaymentDto>> {
    await this.invoices.get(principal, invoiceId);
    return readPage(
      query,
      (limit, after) => this.repository.listForInvoice(principal.tenant, invoiceId, limit, after),
      toPaymentDto,
    );
  }
}
