import { Controller, Get, Header, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Readable } from 'node:stream';
import type { AuditRow } from '@platform/audit';
import { CurrentPrincipal, RequirePermissions, type Principal } from '@platform/auth';
import { AuditFilterInput, AuditPageInput } from './audit-query.dto';
import { AuditTrailService } from './audit-trail.service';
import { PLATFORM_PERMISSIONS } from './platform-permissions';

/**
 * The audit trail: access records (one per request) and domain events, newest first. Tenant
 * admins see their tenant; `platform:audit:read-all` (platform auditors) sees every record,
 * including requests that had no valid token (no tenant).
 */
@ApiTags('platform')
@Controller('platform/audit')
export class AuditController {
  constructor(private readonly trail: AuditTrailService) {}

  @Get()
  @ApiOperation({ summary: 'Audit records, newest first, filtered, one page at a time' })
  @RequirePermissions(PLATFORM_PERMISSIONS.auditRead, { tenant: 'optional' })
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() input: AuditPageInput,
  ): Promise<{ items: AuditRow[]; nextCursor: string | null }> {
    return this.trail.page(principal, input);
  }

  @Get('export')
  @ApiOperation({ summary: 'Every matching audit record as NDJSON (one JSON record per line), newest first, streamed' })
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({ description: 'application/x-ndjson stream' })
  @Header('content-type', 'application/x-ndjson')
  @RequirePermissions(PLATFORM_PERMISSIONS.auditRead, { tenant: 'optional' })
  async export(@CurrentPrincipal() principal: Principal, @Query() input: AuditFilterInput): Promise<StreamableFile> {
    const pages = await this.trail.pages(principal, input);
    async function* lines(): AsyncGenerator<string> {
      for await (const page of pages) yield page.map((row) => JSON.stringify(row)).join('\n') + '\n';
    }
    return new StreamableFile(Readable.from(lines()), { type: 'application/x-ndjson' });
  }
}
