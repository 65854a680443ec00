import { Injectable } from '@nestjs/common';
import { and, desc, eq, lt, sql, type SQL } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import { auditRecords, type AuditRow, type NewAuditRow } from './audit.schema';

/** Filters of an audit query; every field optional. `before` is an id cursor (exclusive). */
export interface AuditQuery {
  decision?: 'allow' | 'deny';
  subject?: string;
  tenant?: string;
  app?: string;
  status?: number;
  before?: number;
  /** Page size, 1-500. */
  limit: number;
}

/** Data access of the audit trail: multi-row inserts and newest-first reads. */
@Injectable()
export class AuditRepository {
  constructor(private readonly database: DatabaseService) {}

  /**
   * Inserts every row in one statement with one array parameter per column (`unnest`), in queue
   * order. A multi-row VALUES list would cost 20 bound parameters per row to build and parse
   * (and tops out at 65,535 parameters); this costs 19 parameters whatever the batch size.
   */
  async insertMany(rows: NewAuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    const column = <T>(pick: (row: NewAuditRow) => T) => sql.param(rows.map(pick));
    await this.database.db.execute(sql`
      insert into audit_records (occurred_at, request_id, decision, reason, error_reason, subject, principal_type,
        client_id, tenant, issuer, app, method, route, path, required_permissions, status, duration_ms, client_ip, details)
      select u.occurred_at, u.request_id, u.decision, u.reason, u.error_reason, u.subject, u.principal_type,
        u.client_id, u.tenant, u.issuer, u.app, u.method, u.route, u.path,
        coalesce(array(select jsonb_array_elements_text(u.required_permissions)), '{}'::text[]),
        u.status, u.duration_ms, u.client_ip, u.details
      from unnest(
        ${column((r) => r.occurredAt.toISOString())}::timestamptz[], ${column((r) => r.requestId)}::text[],
        ${column((r) => r.decision ?? null)}::text[], ${column((r) => r.reason ?? null)}::text[],
        ${column((r) => r.errorReason ?? null)}::text[], ${column((r) => r.subject ?? null)}::text[],
        ${column((r) => r.principalType ?? null)}::text[], ${column((r) => r.clientId ?? null)}::text[],
        ${column((r) => r.tenant ?? null)}::text[], ${column((r) => r.issuer ?? null)}::text[],
        ${column((r) => r.app ?? null)}::text[], ${column((r) => r.method)}::text[],
        ${column((r) => r.route ?? null)}::text[], ${column((r) => r.path)}::text[],
        ${column((r) => JSON.stringify(r.requiredPermissions))}::jsonb[], ${column((r) => r.status)}::int[],
        ${column((r) => r.durationMs)}::float8[], ${column((r) => r.clientIp ?? null)}::text[],
        ${column((r) => (r.details ? JSON.stringify(r.details) : null))}::jsonb[]
      ) with ordinality as u(occurred_at, request_id, decision, reason, error_reason, subject, principal_type,
        client_id, tenant, issuer, app, method, route, path, required_permissions, status, duration_ms, client_ip, details, ord)
      order by u.ord`);
  }

  /** Newest first. */
  async find(query: AuditQuery): Promise<AuditRow[]> {
    const where: SQL[] = [];
    if (query.decision) where.push(eq(auditRecords.decision, query.decision));
    if (query.subject) where.push(eq(auditRecords.subject, query.subject));
    if (query.tenant) where.push(eq(auditRecords.tenant, query.tenant));
    if (query.app) where.push(eq(auditRecords.app, query.app));
    if (query.status) where.push(eq(auditRecords.status, query.status));
    if (query.before) where.push(lt(auditRecords.id, query.before));
    return this.database.db
      .select()
      .from(auditRecords)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditRecords.id))
      .limit(query.limit);
  }
}
