import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditRow } from '@platform/audit';
import { CurrentPrincipal, RequirePermissions, type Principal } from '@platform/auth';
import type { ChainStatus } from './console-audit.repository';
import { RefusalRecordsQuery, RefusalsQuery } from './refusals-query.dto';
import { RefusalsService, type RefusalsView } from './refusals.service';
import { PLATFORM_PERMISSIONS } from '../platform/platform-permissions';

export type { RefusalsView } from './refusals.service';

/**
 * Denials of the audit trail for the console: grouped and charted over time, the records behind a
 * group, and one record with its chain status. Same permission and tenant scope as
 * `GET /platform/audit` (see {@link RefusalsService}).
 */
@ApiTags('platform')
@Controller('platform/audit')
export class RefusalsController {
  constructor(private readonly refusalsService: RefusalsService) {}

  @Get('refusals')
  @ApiOperation({
    summary:
      'Denials in a time window, grouped (route, reason, permission, principal type, app, subject), per time bucket, rising groups first',
  })
  @RequirePermissions(PLATFORM_PERMISSIONS.auditRead, { tenant: 'optional' })
  refusals(@CurrentPrincipal() principal: Principal, @Query() query: RefusalsQuery): Promise<RefusalsView> {
    return this.refusalsService.refusals(principal, query);
  }

  @Get('refusals/records')
  @ApiOperation({ summary: 'The newest 100 denials of one group of GET /platform/audit/refusals' })
  @RequirePermissions(PLATFORM_PERMISSIONS.auditRead, { tenant: 'optional' })
  async refusalRecords(
    @CurrentPrincipal() principal: Principal,
    @Query() query: RefusalRecordsQuery,
  ): Promise<{ items: AuditRow[] }> {
    return { items: await this.refusalsService.refusalRecords(principal, query) };
  }

  @Get('records/:id')
  @ApiOperation({
    summary: 'One audit record by id, with its hash-chain status (its hash recomputed, its link to the record before)',
  })
  @RequirePermissions(PLATFORM_PERMISSIONS.auditRead, { tenant: 'optional' })
  record(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<{ record: AuditRow; chain: ChainStatus }> {
    return this.refusalsService.record(principal, id);
  }
}
