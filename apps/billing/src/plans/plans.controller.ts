import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '@platform/audit';
import { CurrentPrincipal, RequirePermissions, type Principal } from '@platform/auth';
import { PageQuery, UuidParam, type Page } from '@platform/http';
import { BILLING_PERMISSIONS } from '../billing.manifest';
import { CreatePlanInput, type PlanDto } from './plan.dto';
import { PlansService } from './plans.service';

/** The plan catalogue (platform-wide). */
@ApiTags('billing')
@Controller('billing/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Get()
  @ApiOperation({ summary: 'Plans, newest first (active and archived)' })
  @RequirePermissions(BILLING_PERMISSIONS.plansRead, { tenant: 'optional' })
  list(@Query() query: PageQuery): Promise<Page<PlanDto>> {
    return this.plans.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One plan' })
  @RequirePermissions(BILLING_PERMISSIONS.plansRead, { tenant: 'optional' })
  get(@UuidParam() id: string): Promise<PlanDto> {
    return this.plans.get(id);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a plan (platform operators)' })
  @RequirePermissions(BILLING_PERMISSIONS.plansManage, { tenant: 'optional' })
  @Audited('billing.plan.created')
  create(@CurrentPrincipal() principal: Principal, @Body() input: CreatePlanInput): Promise<PlanDto> {
    return this.plans.create(principal, input);
  }

  @Post(':id/archive')
  @HttpCode(200)
  @ApiOperation({ summary: 'Archive a plan: no new subscriptions, existing ones continue' })
  @RequirePermissions(BILLING_PERMISSIONS.plansManage, { tenant: 'optional' })
  @Audited('billing.plan.archived')
  archive(@UuidParam() id: string): Promise<PlanDto> {
    return this.plans.archive(id);
  }
}
