import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { Audited } from '@platform/audit';
import { CurrentPrincipal, RequirePermissions, type Principal } from '@platform/auth';
import { PageQuery, type Page } from '@platform/http';
import { BILLING_PERMISSIONS } from '../billing.manifest';
import { CreateInvoiceInput, type InvoiceDto } from './invoice.dto';
import { InvoicesService } from './invoices.service';

@Controller('billing/invoices')
export class InvoicesController {
  constructor(private readonly invoices: InvoicesService) {}

  @Get()
  @RequirePermissions(BILLING_PERMISSIONS.invoicesRead)
  list(@CurrentPrincipal() principal: Principal, @Query() query: PageQuery): Promise<Page<InvoiceDto>> {
    return this.invoices.list(principal, query);
  }

  @Post()
  @HttpCode(201)
  @RequirePermissions(BILLING_PERMISSIONS.invoicesWrite)
  @Audited('billing.invoice.created')
  create(@CurrentPrincipal() principal: Principal, @Body() input: CreateInvoiceInput): Promise<InvoiceDto> {
    return this.invoices.create(principal, input);
  }

  @Get(':id')
  @RequirePermissions(BILLING_PERMISSIONS.invoicesRead)
  get(@CurrentPrincipal() principal: Principal, @Param('id', new ParseUUIDPipe({ version: '4' })) id: string): Promise<InvoiceDto> {
    return this.invoices.get(principal, id);
  }
}
