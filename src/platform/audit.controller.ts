import { Controller, Get, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { AuditRepository, AuditWriter, type AuditRow } from '@platform/audit';
import { CurrentPrincipal, PolicyService, RequirePermissions, type Principal } from '@platform/auth';
import { ProblemException } from '@platform/http';

export class AuditQueryInput {
  @IsOptional()
  @IsIn(['allow', 'deny'])
  decision?: 'allow' | 'deny';

  @IsOptional()
  @IsString()
  @Length(1, 320)
  subject?: string;

  @IsOptional()
  @IsString()
  @Length(1, 100)
  app?: string;

  /** Only for principals holding `platform:audit:read-all`. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  tenant?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(599)
  status?: number;

  /** Page size, 1-500 (default 100). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  /** `nextBefore` of the previous page: records with a smaller id. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  before?: number;
}

/** The audit trail, newest first. Tenant admins see their tenant; `platform:audit:read-all` sees every record. */
@Controller('platform/audit')
export class AuditController {
  constructor(
    private readonly repository: AuditRepository,
    private readonly writer: AuditWriter,
    private readonly policy: PolicyService,
  ) {}

  @Get()
  @RequirePermissions('platform:audit:read', { tenant: 'optional' })
  async list(@CurrentPrincipal() principal: Principal, @Query() query: AuditQueryInput): Promise<{ items: AuditRow[]; nextBefore: number | null }> {
    const readAll = this.policy.decide(principal, ['platform:audit:read-all']).allowed;
    if (!readAll && principal.tenant === null) {
      throw new ProblemException(403, 'tenant_required', 'Reading the audit trail needs a tenant, or the platform:audit:read-all permission.');
    }
    if (!readAll && query.tenant !== undefined && query.tenant !== principal.tenant) {
      throw new ProblemException(403, 'insufficient_permission', 'Reading another tenant\'s audit trail needs platform:audit:read-all.');
    }
    // Read your writes: what is still queued in memory is written before the query.
    await this.writer.flush();
    const limit = query.limit ?? 100;
    const items = await this.repository.find({ ...query, tenant: readAll ? query.tenant : (principal.tenant as string), limit });
    return { items, nextBefore: items.length === limit ? items[items.length - 1].id : null };
  }
}
