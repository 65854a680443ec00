import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditWriter, type AuditRow } from '@platform/audit';
import { PlatformConfig } from '@platform/config';
import { CurrentPrincipal, PolicyService, RequirePermissions, type Principal } from '@platform/auth';
import { InvalidRequestError, ProblemException, ResourceNotFoundError } from '@platform/http';
import { ConsoleAuditRepository, type ChainStatus } from './console-audit.repository';
import { refusalTrends, type RefusalGroup } from './refusal-trends';
import { RefusalRecordsQuery, RefusalsQuery, type RefusalDimension } from './refusals-query.dto';

const DAY_MS = 24 * 3600 * 1000;
/** The widest window one chart may cover. */
const MAX_WINDOW_MS = 31 * DAY_MS;

/** The answer of `GET /platform/audit/refusals`. */
export interface RefusalsView {
  groupBy: RefusalDimension;
  from: string;
  to: string;
  /** Width of one bucket, in milliseconds. */
  bucketMs: number;
  groups: RefusalGroup[];
}

/**
 * Denials of the audit trail for the console: grouped and charted over time, the records behind a
 * group, and one record with its chain status. Same permission and tenant scope as
 * `GET /platform/audit`: a tenant's own records, or every tenant's with `platform:audit:read-all`.
 */
@ApiTags('platform')
@Controller('platform/audit')
export class RefusalsController {
  constructor(
    private readonly repository: ConsoleAuditRepository,
    private readonly writer: AuditWriter,
    private readonly policy: PolicyService,
    private readonly config: PlatformConfig,
  ) {}

  /**
   * With `AUDIT_DURABILITY=journal` (the default) or `async` recent records may still wait in
   * memory (durable in the write-ahead log, or not at all): they are written first (`flush()`
   * coalesces concurrent callers into at most one running and one queued write). With
   * `before-response` every answered request's record is already in the table, so a read never
   * forces a write.
   */
  private async catchUp(): Promise<void> {
    if (this.config.audit.durability !== 'before-response') await this.writer.flush();
  }

  @Get('refusals')
  @ApiOperation({ summary: 'Denials in a time window, grouped (route, reason, permission, principal type, app, subject), per time bucket, rising groups first' })
  @RequirePermissions('platform:audit:read', { tenant: 'optional' })
  async refusals(@CurrentPrincipal() principal: Principal, @Query() query: RefusalsQuery): Promise<RefusalsView> {
    const { tenant, from, to, buckets, groupBy } = this.scope(principal, query);
    const bucketMs = Math.ceil((to.getTime() - from.getTime()) / buckets);
    await this.catchUp();
    const counts = await this.repository.refusalCounts(groupBy, from, to, bucketMs, tenant);
    return { groupBy, from: from.toISOString(), to: to.toISOString(), bucketMs, groups: refusalTrends(counts, buckets) };
  }

  @Get('refusals/records')
  @ApiOperation({ summary: 'The newest 100 denials of one group of GET /platform/audit/refusals' })
  @RequirePermissions('platform:audit:read', { tenant: 'optional' })
  async refusalRecords(@CurrentPrincipal() principal: Principal, @Query() query: RefusalRecordsQuery): Promise<{ items: AuditRow[] }> {
    const { tenant, from, to, groupBy } = this.scope(principal, query);
    await this.catchUp();
    return { items: await this.repository.refusalRecords(groupBy, query.key, from, to, tenant, 100) };
  }

  @Get('records/:id')
  @ApiOperation({ summary: "One audit record by id, with its hash-chain status (its hash recomputed, its link to the record before)" })
  @RequirePermissions('platform:audit:read', { tenant: 'optional' })
  async record(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<{ record: AuditRow; chain: ChainStatus }> {
    if (!/^[1-9][0-9]{0,15}$/.test(id)) throw new InvalidRequestError('invalid_record_id', 'A record id is a positive integer, as the audit trail lists it.');
    const { tenant } = this.scope(principal, {});
    await this.catchUp();
    // Another tenant's record answers 404, as everywhere else.
    const record = await this.repository.record(Number(id), tenant);
    if (!record) throw new ResourceNotFoundError('audit_record_not_found', 'No such audit record.');
    return { record, chain: await this.repository.chainStatus(record) };
  }

  /**
   * The tenant this principal may read (undefined: every tenant) and the window asked for.
   * @throws ProblemException 403 as `GET /platform/audit`; InvalidRequestError for a bad window
   */
  private scope(principal: Principal, query: RefusalsQuery) {
    const readAll = this.policy.decide(principal, ['platform:audit:read-all']).allowed;
    let tenant = query.tenant;
    if (!readAll) {
      if (principal.tenant === null) {
        throw new ProblemException(403, 'tenant_required', 'Reading the audit trail needs a tenant, or the platform:audit:read-all permission.');
      }
      if (query.tenant !== undefined && query.tenant !== principal.tenant) {
        throw new ProblemException(403, 'insufficient_permission', "Reading another tenant's audit trail needs platform:audit:read-all.");
      }
      tenant = principal.tenant;
    }
    const to = query.to === undefined ? new Date() : new Date(query.to);
    const from = query.from === undefined ? new Date(to.getTime() - DAY_MS) : new Date(query.from);
    if (from >= to) throw new InvalidRequestError('invalid_time_range', '`from` must be before `to`.');
    if (to.getTime() - from.getTime() > MAX_WINDOW_MS) throw new InvalidRequestError('invalid_time_range', 'The window may span 31 days at most.');
    return { tenant, from, to, buckets: query.buckets ?? 24, groupBy: query.groupBy ?? 'route' };
  }
}
