import { Injectable } from '@nestjs/common';
import { and, asc, count, desc, eq, gt, gte, lt, sql, type SQL } from 'drizzle-orm';
import { DatabaseService, type Db } from '@platform/database';
import { canonicalAuditContent, GENESIS_HASH, hashLink } from './audit-chain';
import { auditRecords, type AuditOutcome, type AuditRow, type NewAuditRow } from './audit.schema';

/** Filters of an audit query; every field optional. `before` is an id cursor (exclusive). */
export interface AuditQuery {
  kind?: 'access' | 'event';
  decision?: 'allow' | 'deny';
  outcome?: AuditOutcome;
  subject?: string;
  clientId?: string;
  /** Records where this subject acted for someone, anywhere in the delegation chain. */
  actor?: string;
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
  private chainDb?: Db;

  constructor(private readonly database: DatabaseService) {}

  /**
   * The connection chain appends run on: one of their own, opened on first use, so a batch
   * transaction (holding the chain lock) never takes a request's pool slot nor makes requests wait
   * for one. It reconnects by itself after a cut (see `DatabaseService.dedicated`).
   */
  private get writes(): Db {
    this.chainDb ??= this.database.dedicated();
    return this.chainDb;
  }

  /**
   * Opens the chain appends' connection now (at start), so that the first batch does not wait for
   * it. A failure is not an error here: the first append connects again, and journals on failure.
   */
  async connect(): Promise<void> {
    await this.writes.execute(sql`select 1`).catch(() => undefined);
  }

  /**
   * Appends records to the chain, in the given order, in one transaction bounded by
   * `options.timeoutMs` (milliseconds, enforced by the server as lock and statement timeouts):
   * takes the chain lock (so instances append one batch at a time), skips records whose
   * `recordId` is already stored when `options.mayBeStored` (journal replay: a journal replayed
   * twice, or a batch whose commit was late or unacknowledged), moves up to `options.outbox`
   * committed domain events out of `audit_outbox` (oldest first, ahead of `rows`), links each
   * record to the previous hash, and inserts them in one statement (see `insertBatch`).
   * `options.contentOf` may give a record's `canonicalAuditContent` already built (else undefined).
   *
   * @returns the number of records inserted (duplicates excluded) and the outbox records among them
   * @throws the driver's error when the database is unreachable; nothing is written (or moved) then
   */
  async appendChained(
    rows: NewAuditRow[],
    options: {
      timeoutMs: number;
      mayBeStored: boolean;
      outbox?: number;
      contentOf?: (row: NewAuditRow) => string | undefined;
    },
  ): Promise<{ inserted: number; moved: NewAuditRow[] }> {
    const outboxLimit = options.outbox ?? 0;
    if (rows.length === 0 && outboxLimit === 0) return { inserted: 0, moved: [] };
    return this.writes.transaction(async (tx) => {
      // The server gives up too (a client-side timeout alone would leave the lock held). One round
      // trip: the target list is evaluated in order, so the lock wait already obeys lock_timeout
      // (statement_timeout applies from the next statement on). The response of every request
      // waits for this transaction (durable before response): each round trip counts.
      const limit = `${options.timeoutMs}ms`;
      await tx.execute(
        sql`select set_config('lock_timeout', ${limit}, true), set_config('statement_timeout', ${limit}, true), pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`,
      );
      // One round trip: the ids already stored (only records that may have been written before,
      // i.e. replayed from the journal, are looked up), the hash the chain continues from, and the
      // outbox rows taken (deleted here, inserted below: moved exactly once, or not at all).
      const ids = options.mayBeStored ? rows.map((r) => r.recordId) : [];
      const known = (await tx.execute(sql`
        with taken as (
          delete from audit_outbox where id in (select id from audit_outbox order by id limit ${outboxLimit} for update skip locked)
          returning id, record)
        select record_id::text as value, 'stored' as what, null::jsonb as record, 0::bigint as ord from audit_records where record_id = any(${sql.param(ids)}::uuid[])
        union all
        (select hash, 'last', null::jsonb, 0::bigint from audit_records where hash is not null order by id desc limit 1)
        union all
        select null, 'outbox', record, id from taken`)) as {
        rows: Array<{ value: string; what: string; record: unknown; ord: string | number }>;
      };
      const seen = new Set(known.rows.filter((r) => r.what === 'stored').map((r) => r.value));
      const moved = known.rows
        .filter((r) => r.what === 'outbox')
        .sort((a, b) => Number(a.ord) - Number(b.ord))
        .map((r) => reviveOutboxRecord(r.record));
      const fresh = moved.concat(rows.filter((r) => !seen.has(r.recordId) && seen.add(r.recordId)));
      if (fresh.length === 0) return { inserted: 0, moved: [] };
      let previous = known.rows.find((r) => r.what === 'last')?.value ?? GENESIS_HASH;
      // Each record's canonical content is built once: hashed, then sent as the row itself.
      const objects: string[] = [];
      for (let i = 0; i < fresh.length; i++) {
        const content = options.contentOf?.(fresh[i]) ?? canonicalAuditContent(fresh[i]);
        const hash = hashLink(previous, content);
        objects.push(`{"ord":${i},"prevHash":"${previous}","hash":"${hash}",${content.slice(1)}`);
        previous = hash;
      }
      await insertBatch(tx, `[${objects.join(',')}]`);
      return { inserted: fresh.length, moved };
    });
  }

  /**
   * Takes the oldest domain event out of `audit_outbox` without chaining it: the database refused
   * it as data, so the caller sets it aside (`audit-rejected.ndjson`) instead of letting it fail
   * every later batch. Under the chain lock, so no other instance moves events meanwhile; bounded
   * by `timeoutMs` (milliseconds) like {@link appendChained}.
   *
   * @returns the event taken, or undefined when the outbox is empty
   */
  async takeOldestOutboxRecord(timeoutMs: number): Promise<NewAuditRow | undefined> {
    return this.writes.transaction(async (tx) => {
      const limit = `${timeoutMs}ms`;
      await tx.execute(
        sql`select set_config('lock_timeout', ${limit}, true), set_config('statement_timeout', ${limit}, true), pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`,
      );
      const result = (await tx.execute(sql`
        delete from audit_outbox where id = (select id from audit_outbox order by id limit 1)
        returning record`)) as { rows: Array<{ record: unknown }> };
      return result.rows.length === 0 ? undefined : reviveOutboxRecord(result.rows[0].record);
    });
  }

  /** Newest first. */
  async find(query: AuditQuery): Promise<AuditRow[]> {
    const where: SQL[] = [];
    if (query.kind) where.push(eq(auditRecords.kind, query.kind));
    if (query.decision) where.push(eq(auditRecords.decision, query.decision));
    if (query.outcome) where.push(eq(auditRecords.outcome, query.outcome));
    if (query.subject) where.push(eq(auditRecords.subject, query.subject));
    if (query.clientId) where.push(eq(auditRecords.clientId, query.clientId));
    if (query.actor) where.push(sql`${auditRecords.actors} @> ${JSON.stringify([{ subject: query.actor }])}::jsonb`);
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

  /**
   * API usage of one tenant from its access records in [from, to): requests per app, route
   * template and decision, most used first (at most 500 rows). The usage reports of feature apps
   * read the trail through this method.
   */
  async usage(
    tenant: string,
    from: Date,
    to: Date,
  ): Promise<Array<{ app: string | null; route: string | null; decision: string | null; requests: number }>> {
    const rows = await this.database.db
      .select({ app: auditRecords.app, route: auditRecords.route, decision: auditRecords.decision, requests: count() })
      .from(auditRecords)
      .where(
        and(
          eq(auditRecords.tenant, tenant),
          eq(auditRecords.kind, 'access'),
          gte(auditRecords.occurredAt, from),
          lt(auditRecords.occurredAt, to),
        ),
      )
      .groupBy(auditRecords.app, auditRecords.route, auditRecords.decision)
      .orderBy(desc(count()), asc(auditRecords.app), asc(auditRecords.route))
      .limit(500);
    return rows.map((r) => ({ ...r, requests: Number(r.requests) }));
  }

  /** Up to `limit` records with an id above `afterId`, oldest first: the chain walk of `audit:verify`. */
  async ascendingPage(afterId: number, limit: number): Promise<AuditRow[]> {
    return this.database.db
      .select()
      .from(auditRecords)
      .where(gt(auditRecords.id, afterId))
      .orderBy(asc(auditRecords.id))
      .limit(limit);
  }
}

/** An outbox record as stored (jsonb: dates as ISO strings, which hash and insert as the Date did). */
function reviveOutboxRecord(value: unknown): NewAuditRow {
  const record = (typeof value === 'string' ? JSON.parse(value) : value) as NewAuditRow & { occurredAt: string | Date };
  return { ...record, occurredAt: new Date(record.occurredAt) };
}

/**
 * One INSERT for the whole batch, preserving its order (ids follow it). The batch travels as one
 * JSON parameter (an array of canonical records plus `ord`, `prevHash`, `hash`), parsed by the
 * server with `json_to_recordset`: no per-value escaping in the driver, and the bytes hashed are
 * the bytes stored. Columns absent from a record (null content is left out) arrive as null.
 */
async function insertBatch(db: Db, json: string): Promise<void> {
  await db.execute(sql`
    insert into audit_records (record_id, kind, event, resource_id, trace_id, occurred_at, request_id, decision, reason,
      error_reason, outcome, subject, principal_type, client_id, actors, dpop_bound, tenant, issuer, app, method, route, path, required_permissions,
      status, duration_ms, client_ip, details, prev_hash, hash)
    select "recordId", "kind", "event", "resourceId", "traceId", "occurredAt", "requestId", "decision", "reason",
      "errorReason", "outcome", "subject", "principalType", "clientId", "actors", "dpopBound", "tenant", "issuer", "app", "method", "route", "path",
      coalesce("requiredPermissions", '{}'), "status", "durationMs", "clientIp", "details", "prevHash", "hash"
    from json_to_recordset(${json}::json) as u("ord" int, "recordId" uuid, "kind" text, "event" text, "resourceId" text,
      "traceId" text, "occurredAt" timestamptz, "requestId" text, "decision" text, "reason" text, "errorReason" text, "outcome" text,
      "subject" text, "principalType" text, "clientId" text, "actors" jsonb, "dpopBound" boolean, "tenant" text, "issuer" text, "app" text, "method" text,
      "route" text, "path" text, "requiredPermissions" text[], "status" int, "durationMs" float8, "clientIp" text,
      "details" jsonb, "prevHash" text, "hash" text)
    order by u."ord"`);
}
