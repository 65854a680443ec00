import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '@platform/audit';
import { RequirePermissions, TenantPrincipal } from '@platform/auth';
import { PageQuery, Served, UuidParam, type Page, type ServedRequest } from '@platform/http';
import { Idempotent } from '@platform/idempotency';
import { BILLING_PERMISSIONS } from '../billing.manifest';
import { RecordPaymentInput, type PaymentDto } from './payment.dto';
import { PaymentsService } from './payments.service';

/** Payments of one invoice of the caller's tenant. */
@ApiTags('billing')
@Controller('billing/invoices/:id/payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Get()
  @ApiOperation({ summary: "An invoice's payments, newest first" })
  @RequirePermissions(BILLING_PERMISSIONS.paymentsRead)
  list(
    @TenantPrincipal() principal: TenantPrincipal,
    @UuidParam() invoiceId: string,
    @Query() query: PageQuery,
  ): Promise<Page<PaymentDto>> {
    return this.payments.list(principal, invoiceId, query);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Record a payment against an open invoice (Idempotency-Key required; retries return the first response)',
  })
  @RequirePermissions(BILLING_PERMISSIONS.paymentsWrite)
  @Idempotent()
  @Audited('billing.payment.recorded')
  record(
    @TenantPrincipal() principal: TenantPrincipal,
    @UuidParam() invoiceId: string,
    @Body() input: RecordPaymentInput,
    @Served() served: ServedRequest,
  ): Promise<PaymentDto> {
    return this.payments.record(principal, invoiceId, input, served);
  }
}
