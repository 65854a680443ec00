import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermissions, TenantPrincipal } from '@platform/auth';
import { ANALYTICS_PERMISSIONS } from '../analytics.manifest';
import { UsageQuery } from '../events/event.dto';
import { UsageService } from './usage.service';

/** API usage of the caller's tenant, read from the platform's audit trail. */
@ApiTags('analytics')
@Controller('analytics/usage')
export class UsageController {
  constructor(private readonly usageService: UsageService) {}

  @Get()
  @ApiOperation({
    summary: 'Requests of the tenant per app, route and decision in [from, to), most used first (from the audit trail)',
  })
  @RequirePermissions(ANALYTICS_PERMISSIONS.usageRead)
  usage(@TenantPrincipal() principal: TenantPrincipal, @Query() query: UsageQuery) {
    return this.usageService.usage(principal.tenant, new Date(query.from), new Date(query.to));
  }
}
