import { Injectable } from '@nestjs/common';
import { and, asc, desc, eq, gt, gte, lt, sql, type SQL } from 'drizzle-orm';
import { DatabaseService, type Db } from '@platform/database';
import { chainHash, GENESIS_HASH } from './audit-chain';
import { auditRecords, type AuditRow, type NewAuditRow } from './audit.schema';

/** Filters of an audit query; every field optional. `before` is an id cursor (exclusive). */
export interface AuditQuery {
  kind?: 'access' | 'event';
  decision?: 'allow' | 'deny';
  subject?: string;
  clientId?: string;
  tenant?: string;
  app?: string;
  status?: number;
  requestId?: string;
  traceId?: string;
  event?: string;
  /** Records that occurred at or after this instant. */
  from?: Date;
  /** Records that occurred before this instant (exclusive). */
  to?: Date;
  before?: number;
  /** Page size, 1-500. */
  limit: number;
}

/** Advisory lock serializing chain appends across every platform instance sharing the database. */
const AUDIT_CHAIN_LOCK = 7_402_150_002;

/**
 * Data access of the audit trail: chained batch inserts, filtered newest-first reads, and the
 * ascending walk `audit:verify` uses.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly database: DatabaseService) {}

  /**
   * Appends records to the chain, in the given order, in one transaction bounded by `timeoutMs`
   * (milliseconds, enforced by the server as lock and statement timeouts): takes the chain lock
   * (so instances append one batch at a time), skips records whose `recordId` is already stored
   * (a journal replayed twice, or a commit whose acknowledgement was lost), links each record to
   * the previous hash, and inserts them with one array parameter per column (`unnest`: a
   * multi-row VALUES list would cost a bound parameter per column per row).
   *
   * @returns the number of records inserted (duplicates excluded)
   * @throws the driver's error when the database is unreachable; nothing is written then
   */
  async appendChained(rows: NewAuditRow[], timeoutMs: number): Promise<number> {
    if (rows.length === 0) return 0;
    return this.database.db.transaction(async (tx) => {
      // The server gives up too (a client-side timeout alone would leave the lock held).
      const limit = `${timeoutMs}ms`;
      await tx.execute(sql`select set_config('lock_timeout', ${limit}, true), set_config('statement_timeout', ${limit}, true)`);
      await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
      // One round trip: the ids already stored, and the hash the chain continues from.
      const known = (await tx.execute(sql`
        select record_id::text as value, 'stored' as what from audit_records where record_id = any(${sql.param(rows.map((r) => r.recordId))}::uuid[])
        union all
        (select hash, 'last' from audit_records where hash is not null order by id desc limit 1)`)) as unknown as { rows: Array<{ value: string; what: string }> };
      const seen = new Set(known.rows.filter((r) => r.what === 'stored').map((r) => r.value));
      const fresh = rows.filter((r) => !seen.has(r.recordId) && seen.add(r.recordId));
      if (fresh.length === 0) return 0;
      let previous = known.rows.find((r) => r.what === 'last')?.value ?? GENESIS_HASH;
      const prevHashes: string[] = [];
      const hashes: string[] = [];
      for (const row of fresh) {
        prevHashes.push(previous);
        previous = chainHash(previous, row);
        hashes.push(previous);
      }
      await insertUnnest(tx as unknown as Db, fresh, prevHashes, hashes);
      return fresh.length;
    });
  }

  /** Newest first. */
  async find(query: AuditQuery): Promise<AuditRow[]> {
    const where: SQL[] = [];
    if (query.kind) where.push(eq(auditRecords.kind, query.kind));
    if (query.decision) where.push(eq(auditRecords.decision, query.decision));
    if (query.subject) where.push(eq(auditRecords.subject, query.subject));
    if (query.clientId) where.push(eq(auditRecords.clientId, query.clientId));
    if (query.tenant) where.push(eq(auditRecords.tenant, query.tenant));
    if (query.app) where.push(eq(auditRecords.app, query.app));
    if (query.status) where.push(eq(auditRecords.status, query.status));
    if (query.requestId) where.push(eq(auditRecords.requestId, query.requestId));
    if (query.traceId) where.push(eq(auditRecords.traceId, query.traceId));
    if (query.event) where.push(eq(auditRecords.event, query.event));
    if (query.from) where.push(gte(auditRecords.occurredAt, query.from));
    if (query.to) where.push(lt(auditRecords.occurredAt, query.to));
    if (query.before) where.push(lt(auditRecords.id, query.before));
    return this.database.db
      .select()
      .from(auditRecords)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditRecords.id))
      .limit(query.limit);
  }

  /** Up to `limit` records with an id above `afterId`, oldest first: the chain walk of `audit:verify`. */
  async ascendingPage(afterId: number, limit: number): Promise<AuditRow[]> {
    return this.database.db.select().from(auditRecords).where(gt(auditRecords.id, afterId)).orderBy(asc(auditRecords.id)).limit(limit);
  }
}

/** One INSERT for the whole batch, preserving its order (ids follow it). */
async function insertUnnest(db: Db, rows: NewAuditRow[], prevHashes: string[], hashes: string[]): Promise<void> {
  const column = <T>(pick: (row: NewAuditRow) => T) => sql.param(rows.map(pick));
  await db.execute(sql`
    insert into audit_records (record_id, kind, event, resource_id, trace_id, occurred_at, request_id, decision, reason,
      error_reason, subject, principal_type, client_id, tenant, issuer, app, method, route, path, required_permissions,
      status, duration_ms, client_ip, details, prev_hash, hash)
    select u.record_id, u.kind, u.event, u.resource_id, u.trace_id, u.occurred_at, u.request_id, u.decision, u.reason,
      u.error_reason, u.subject, u.principal_type, u.client_id, u.tenant, u.issuer, u.app, u.method, u.route, u.path,
      coalesce(array(select jsonb_array_elements_text(u.required_permissions)), '{}'::text[]),
      u.status, u.duration_ms, u.client_ip, u.details, u.prev_hash, u.hash
    from unnest(
      ${column((r) => r.recordId)}::uuid[], ${column((r) => r.kind ?? 'access')}::text[],
      ${column((r) => r.event ?? null)}::text[], ${column((r) => r.resourceId ?? null)}::text[],
      ${column((r) => r.traceId ?? null)}::text[],
      ${column((r) => r.occurredAt.toISOString())}::timestamptz[], ${column((r) => r.requestId)}::text[],
      ${column((r) => r.decision ?? null)}::text[], ${column((r) => r.reason ?? null)}::text[],
      ${column((r) => r.errorReason ?? null)}::text[], ${column((r) => r.subject ?? null)}::text[],
      ${column((r) => r.principalType ?? null)}::text[], ${column((r) => r.clientId ?? null)}::text[],
      ${column((r) => r.tenant ?? null)}::text[], ${column((r) => r.issuer ?? null)}::text[],
      ${column((r) => r.app ?? null)}::text[], ${column((r) => r.method)}::text[],
      ${column((r) => r.route ?? null)}::text[], ${column((r) => r.path)}::text[],
      ${column((r) => JSON.stringify(r.requiredPermissions))}::jsonb[], ${column((r) => r.status)}::int[],
      ${column((r) => r.durationMs)}::float8[], ${column((r) => r.clientIp ?? null)}::text[],
      ${column((r) => (r.details ? JSON.stringify(r.details) : null))}::jsonb[],
      ${sql.param(prevHashes)}::text[], ${sql.param(hashes)}::text[]
    ) with ordinality as u(record_id, kind, event, resource_id, trace_id, occurred_at, request_id, decision, reason,
      error_reason, subject, principal_type, client_id, tenant, issuer, app, method, route, path, required_permissions,
      status, duration_ms, client_ip, details, prev_hash, hash, ord)
    order by u.ord`);
}
