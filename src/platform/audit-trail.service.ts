import { Injectable } from '@nestjs/common';
import { AuditRepository, AuditWriter, type AuditQuery, type AuditRow } from '@platform/audit';
import { PolicyService, type Principal } from '@platform/auth';
import { InvalidRequestError } from '@platform/http';
import type { AuditFilterInput, AuditPageInput } from './audit-query.dto';
import { auditTenantScope } from './audit-scope';
import { PLATFORM_PERMISSIONS } from './platform-permissions';

/** Records per database read while exporting. */
const EXPORT_PAGE = 500;

/**
 * Reads the audit trail for a principal: its tenant's records, or every record with
 * `platform:audit:read-all`. Newest first; what is still queued in memory is written first
 * (read your writes).
 */
@Injectable()
export class AuditTrailService {
  constructor(
    private readonly repository: AuditRepository,
    private readonly writer: AuditWriter,
    private readonly policy: PolicyService,
  ) {}

  /**
   * One page (`limit`, default 100) of matching records before `cursor` (a record id).
   * @throws ProblemException 403 `tenant_required` / `insufficient_permission`; InvalidRequestError `invalid_time_range`
   */
  async page(principal: Principal, input: AuditPageInput): Promise<{ items: AuditRow[]; nextCursor: string | null }> {
    const query = this.scopedQuery(principal, input);
    await this.writer.flush();
    const limit = input.limit ?? 100;
    const before = input.cursor === undefined ? undefined : Number(input.cursor);
    const items = await this.repository.find({ ...query, before, limit });
    return { items, nextCursor: items.length === limit ? String(items[items.length - 1].id) : null };
  }

  /**
   * Every matching record, newest first, in pages of {@link EXPORT_PAGE} read one at a time. The
   * scope is checked before the first page is asked for, so a refusal is an HTTP error, not a cut stream.
   * @throws as {@link page}
   */
  async pages(principal: Principal, input: AuditFilterInput): Promise<AsyncGenerator<AuditRow[]>> {
    const query = this.scopedQuery(principal, input);
    await this.writer.flush();
    const repository = this.repository;
    return (async function* () {
      let before: number | undefined;
      for (;;) {
        const page = await repository.find({ ...query, before, limit: EXPORT_PAGE });
        if (page.length > 0) yield page;
        if (page.length < EXPORT_PAGE) return;
        before = page[page.length - 1].id;
      }
    })();
  }

  /** The query this principal may run (see {@link auditTenantScope}). */
  private scopedQuery(principal: Principal, input: AuditFilterInput): Omit<AuditQuery, 'limit'> {
    const tenant = auditTenantScope(
      principal,
      this.policy.decide(principal, [PLATFORM_PERMISSIONS.auditReadAll]).allowed,
      input.tenant,
    );
    const from = input.from === undefined ? undefined : new Date(input.from);
    const to = input.to === undefined ? undefined : new Date(input.to);
    if (from && to && from >= to) throw new InvalidRequestError('invalid_time_range', '`from` must be before `to`.');
    return {
      kind: input.kind,
      decision: input.decision,
      outcome: input.outcome,
      subject: input.subject,
      clientId: input.client,
      actor: input.actor,
      app: input.app,
      status: input.status,
      requestId: input.requestId,
      traceId: input.traceId,
      event: input.event,
      from,
      to,
      tenant,
    };
  }
}
