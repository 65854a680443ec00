import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '@platform/audit';
import { RequirePermissions, TenantPrincipal } from '@platform/auth';
import { PageQuery, UuidParam, type Page } from '@platform/http';
import { BILLING_PERMISSIONS } from '../billing.manifest';
import { CreateSubscriptionInput, type SubscriptionDto } from './subscription.dto';
import { SubscriptionsService } from './subscriptions.service';

/** The caller's tenant's subscriptions. */
@ApiTags('billing')
@Controller('billing/subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's subscriptions, newest first" })
  @RequirePermissions(BILLING_PERMISSIONS.subscriptionsRead)
  list(@TenantPrincipal() principal: TenantPrincipal, @Query() query: PageQuery): Promise<Page<SubscriptionDto>> {
    return this.subscriptions.list(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One subscription of the tenant' })
  @RequirePermissions(BILLING_PERMISSIONS.subscriptionsRead)
  get(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<SubscriptionDto> {
    return this.subscriptions.get(principal, id);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Subscribe the tenant to an active plan (one active subscription per tenant)' })
  @RequirePermissions(BILLING_PERMISSIONS.subscriptionsWrite)
  @Audited('billing.subscription.created')
  create(
    @TenantPrincipal() principal: TenantPrincipal,
    @Body() input: CreateSubscriptionInput,
  ): Promise<SubscriptionDto> {
    return this.subscriptions.create(principal, input.planId);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel an active subscription' })
  @RequirePermissions(BILLING_PERMISSIONS.subscriptionsWrite)
  @Audited('billing.subscription.canceled')
  cancel(@TenantPrincipal() principal: TenantPrincipal, @UuidParam() id: string): Promise<SubscriptionDto> {
    return this.subscriptions.cancel(principal, id);
  }
}
