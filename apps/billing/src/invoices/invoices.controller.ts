import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '@platform/audit';
import { RequirePermissions, TenantPrincipal } from '@platform/auth';
import { PageQuery, Served, UuidParam, type Page, type ServedRequest } from '@platform/http';
import { BILLING_PERMISSIONS } from '../billing.manifest';
import { CreateInvoiceInput, type InvoiceDto } from './invoice.dto';
import { InvoicesService } from './invoices.service';

/** Invoices of the caller's tenant and their state machine. */
@ApiTags('billing')
@Controller('billing/invoices')
export class InvoicesController {
  constructor(private readonly invoices: InvoicesService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's invoices, newest first" })
  @RequirePermissions(BILLING_PERMISSIONS.invoicesRead)
  list(@TenantPrincipal() principal: TenantPrincipal, @Query() query: PageQuery): Promise<Page<InvoiceDto>> {
    return this.invoices.list(principal, query);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a draft invoice; the total is computed from the lines' })
  @RequirePermissions(BILLING_PERMISSIONS.invoicesWrite)
  @Audited('billing.invoice.created')
  create(
    @TenantPrincipal() principal: TenantPrincipal,
    @Body() input: CreateInvoiceInput,
    @Served() served: ServedRequest,
  ): Promise<InvoiceDto> {
    return this.invoices.create(principal, input, served);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One invoice with its lines' })
  @RequirePermissions(BILLING_PERMISSIONS.invoicesRead)
  get(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<InvoiceDto> {
    return this.invoices.get(principal, id);
  }

  @Post(':id/open')
  @HttpCode(200)
  @ApiOperation({ summary: 'Open a draft invoice: it becomes payable (409 from any other state)' })
  @RequirePermissions(BILLING_PERMISSIONS.invoicesWrite)
  @Audited('billing.invoice.opened')
  open(
    @TenantPrincipal() principal: TenantPrincipal,
    @UuidParam() id: string,
    @Served() served: ServedRequest,
  ): Promise<InvoiceDto> {
    return this.invoices.transition(principal, id, 'open', served);
  }

  @Post(':id/void')
  @HttpCode(200)
  @ApiOperation({ summary: 'Void a draft or open invoice (409 once paid or void)' })
  @RequirePermissions(BILLING_PERMISSIONS.invoicesWrite)
  @Audited('billing.invoice.voided')
  void(
    @TenantPrincipal() principal: TenantPrincipal,
    @UuidParam() id: string,
    @Served() served: ServedRequest,
  ): Promise<InvoiceDto> {
    return this.invoices.transition(principal, id, 'void', served);
  }
}
