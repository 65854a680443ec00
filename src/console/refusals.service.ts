import { Injectable } from '@nestjs/common';
import { AuditWriter, type AuditRow } from '@platform/audit';
import { PolicyService, type Principal } from '@platform/auth';
import { PlatformConfig } from '@platform/config';
import { InvalidRequestError, ResourceNotFoundError } from '@platform/http';
import { auditTenantScope } from '../platform/audit-scope';
import { ConsoleAuditRepository, type ChainStatus } from './console-audit.repository';
import { refusalTrends, type RefusalGroup } from './refusal-trends';
import type { RefusalDimension, RefusalRecordsQuery, RefusalsQuery } from './refusals-query.dto';
import { PLATFORM_PERMISSIONS } from '../platform/platform-permissions';

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
 * Denials of the audit trail for the console, in the scope of `GET /platform/audit`: a tenant's
 * own records, or every tenant's with `platform:audit:read-all`.
 */
@Injectable()
export class RefusalsService {
  constructor(
    private readonly repository: ConsoleAuditRepository,
    private readonly writer: AuditWriter,
    private readonly policy: PolicyService,
    private readonly config: PlatformConfig,
  ) {}

  /**
   * Denials in a window (default the last 24 h, at most 31 days), grouped, per time bucket.
   * @throws ProblemException 403 as `GET /platform/audit`; InvalidRequestError `invalid_time_range`
   */
  async refusals(principal: Principal, query: RefusalsQuery): Promise<RefusalsView> {
    const { tenant, from, to, buckets, groupBy } = this.scope(principal, query);
    const bucketMs = Math.ceil((to.getTime() - from.getTime()) / buckets);
    await this.catchUp();
    const counts = await this.repository.refusalCounts(groupBy, from, to, bucketMs, tenant);
    return {
      groupBy,
      from: from.toISOString(),
      to: to.toISOString(),
      bucketMs,
      groups: refusalTrends(counts, buckets),
    };
  }

  /** The newest 100 denials of one group. @throws as {@link refusals} */
  async refusalRecords(principal: Principal, query: RefusalRecordsQuery): Promise<AuditRow[]> {
    const { tenant, from, to, groupBy } = this.scope(principal, query);
    await this.catchUp();
    return this.repository.refusalRecords(groupBy, query.key, from, to, tenant, 100);
  }

  /**
   * One record (another tenant's answers 404, as everywhere else) with its hash-chain status.
   * @throws InvalidRequestError `invalid_record_id`; ResourceNotFoundError `audit_record_not_found`; ProblemException 403
   */
  async record(principal: Principal, id: string): Promise<{ record: AuditRow; chain: ChainStatus }> {
    if (!/^[1-9][0-9]{0,15}$/.test(id))
      throw new InvalidRequestError(
        'invalid_record_id',
        'A record id is a positive integer, as the audit trail lists it.',
      );
    const { tenant } = this.scope(principal, {});
    await this.catchUp();
    const record = await this.repository.record(Number(id), tenant);
    if (!record) throw new ResourceNotFoundError('audit_record_not_found', 'No such audit record.');
    return { record, chain: await this.repository.chainStatus(record) };
  }

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

  /** The tenant this principal may read (undefined: every tenant) and the window asked for. */
  private scope(principal: Principal, query: RefusalsQuery) {
    const tenant = auditTenantScope(
      principal,
      this.policy.decide(principal, [PLATFORM_PERMISSIONS.auditReadAll]).allowed,
      query.tenant,
    );
    const to = query.to === undefined ? new Date() : new Date(query.to);
    const from = query.from === undefined ? new Date(to.getTime() - DAY_MS) : new Date(query.from);
    if (from >= to) throw new InvalidRequestError('invalid_time_range', '`from` must be before `to`.');
    if (to.getTime() - from.getTime() > MAX_WINDOW_MS)
      throw new InvalidRequestError('invalid_time_range', 'The window may span 31 days at most.');
    return { tenant, from, to, buckets: query.buckets ?? 24, groupBy: query.groupBy ?? 'route' };
  }
}
