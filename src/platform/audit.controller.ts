import { Controller, Get, Header, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Readable } from 'node:stream';
import { AuditRepository, AuditWriter, type AuditQuery, type AuditRow } from '@platform/audit';
import { CurrentPrincipal, PolicyService, RequirePermissions, type Principal } from '@platform/auth';
import { InvalidRequestError, ProblemException } from '@platform/http';
import { AuditFilterInput, AuditPageInput } from './audit-query.dto';

/** Records per database read while exporting. */
const EXPORT_PAGE = 500;

/**
 * The audit trail: access records (one per request) and domain events, newest first. Tenant
 * admins see their tenant; `platform:audit:read-all` (platform auditors) sees every record,
 * including requests that had no valid token (no tenant).
 */
@ApiTags('platform')
@Controller('platform/audit')
export class AuditController {
  constructor(
    private readonly repository: AuditRepository,
    private readonly writer: AuditWriter,
    private readonly policy: PolicyService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Audit records, newest first, filtered, one page at a time' })
  @RequirePermissions('platform:audit:read', { tenant: 'optional' })
  async list(@CurrentPrincipal() principal: Principal, @Query() input: AuditPageInput): Promise<{ items: AuditRow[]; nextCursor: string | null }> {
    const query = this.scopedQuery(principal, input);
    // Read your writes: what is still queued in memory is written before the query.
    await this.writer.flush();
    const limit = input.limit ?? 100;
    const before = input.cursor === undefined ? undefined : Number(input.cursor);
    const items = await this.repository.find({ ...query, before, limit });
    return { items, nextCursor: items.length === limit ? String(items[items.length - 1].id) : null };
  }

  @Get('export')
  @ApiOperation({ summary: 'Every matching audit record as NDJSON (one JSON record per line), newest first, streamed' })
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({ description: 'application/x-ndjson stream' })
  @Header('content-type', 'application/x-ndjson')
  @RequirePermissions('platform:audit:read', { tenant: 'optional' })
  async export(@CurrentPrincipal() principal: Principal, @Query() input: AuditFilterInput): Promise<StreamableFile> {
    const query = this.scopedQuery(principal, input);
    await this.writer.flush();
    const repository = this.repository;
    async function* lines(): AsyncGenerator<string> {
      let before: number | undefined;
      for (;;) {
        const page = await repository.find({ ...query, before, limit: EXPORT_PAGE });
        if (page.length > 0) yield page.map((row) => JSON.stringify(row)).join('\n') + '\n';
        if (page.length < EXPORT_PAGE) return;
        before = page[page.length - 1].id;
      }
    }
    return new StreamableFile(Readable.from(lines()), { type: 'application/x-ndjson' });
  }

  /**
   * The query this principal may run: its own tenant unless it holds `platform:audit:read-all`.
   * @throws ProblemException 403 `tenant_required` / `insufficient_permission`; InvalidRequestError for `from` after `to`
   */
  private scopedQuery(principal: Principal, input: AuditFilterInput): Omit<AuditQuery, 'limit'> {
    const readAll = this.policy.decide(principal, ['platform:audit:read-all']).allowed;
    let tenant = input.tenant;
    if (!readAll) {
      if (principal.tenant === null) {
        throw new ProblemException(403, 'tenant_required', 'Reading the audit trail needs a tenant, or the platform:audit:read-all permission.');
      }
      if (input.tenant !== undefined && input.tenant !== principal.tenant) {
        throw new ProblemException(403, 'insufficient_permission', "Reading another tenant's audit trail needs platform:audit:read-all.");
      }
      tenant = principal.tenant;
    }
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
