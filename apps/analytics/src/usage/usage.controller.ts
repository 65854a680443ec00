import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditRepository, AuditWriter } from '@platform/audit';
import { RequirePermissions, TenantPrincipal } from '@platform/auth';
import { InvalidRequestError } from '@platform/http';
import { ANALYTICS_PERMISSIONS } from '../analytics.manifest';
import { UsageQuery } from '../events/event.dto';

/** API usage of the caller's tenant, read from the platform's audit trail. */
@ApiTags('analytics')
@Controller('analytics/usage')
export class UsageController {
  constructor(
    private readonly audit: AuditRepository,
    private readonly writer: AuditWriter,
  ) {}

  @Get()
  @ApiOperation({ summary: "Requests of the tenant per app, route and decision in [from, to), most used first (from the audit trail)" })
  @RequirePermissions(ANALYTICS_PERMISSIONS.usageRead)
  async usage(@TenantPrincipal() principal: TenantPrincipal, @Query() query: UsageQuery) {
    const from = new Date(query.from);
    const to = new Date(query.to);
    if (from >= to) throw new InvalidRequestError('invalid_time_range', '"from" must be before "to".');
    // Read your writes: records still queued are written first.
    await this.writer.flush();
    return { from: from.toISOString(), to: to.toISOString(), usage: await this.audit.usage(principal.tenant, from, to) };
  }
}
