import { Injectable } from '@nestjs/common';
import { and, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { auditRecords, chainHash, GENESIS_HASH, type AuditRow } from '@platform/audit';
import { DatabaseService } from '@platform/database';
import type { RefusalDimension } from './refusals-query.dto';

/** Denials of one group per time bucket. */
export interface RefusalCount {
  key: string;
  bucket: number;
  count: number;
}

/** What the chain says about one record: its own hash and its link to the record before it. */
export interface ChainStatus {
  /** `verified`: hash recomputed from the content matches, and the previous record's hash is its `prevHash`; `broken`: one does not; `unchained`: a record older than the chain. */
  status: 'verified' | 'broken' | 'unchained';
  hashMatches: boolean | null;
  linkMatches: boolean | null;
}

/** SQL of each dimension's group key; a missing value groups as the empty string. */
const KEY: Record<RefusalDimension, SQL> = {
  route: sql`${auditRecords.method} || ' ' || coalesce(${auditRecords.route}, ${auditRecords.path})`,
  reason: sql`coalesce(${auditRecords.reason}, '')`,
  permission: sql`array_to_string(${auditRecords.requiredPermissions}, ' ')`,
  principalType: sql`coalesce(${auditRecords.principalType}, '')`,
  app: sql`coalesce(${auditRecords.app}, '')`,
  subject: sql`coalesce(${auditRecords.subject}, '')`,
};

/**
 * Read-only queries of the console over the audit table: refusals grouped over time, the records
 * of one group, one record with its chain status. The audit library's own repository is left as
 * it is; these go through the same schema and database service.
 */
@Injectable()
export class ConsoleAuditRepository {
  constructor(private readonly database: DatabaseService) {}

  /**
   * Access records denied in [from, to), counted per group key and per bucket of `bucketMs`
   * milliseconds (bucket 0 starts at `from`); one tenant, or every tenant when `tenant` is undefined.
   */
  async refusalCounts(
    dimension: RefusalDimension,
    from: Date,
    to: Date,
    bucketMs: number,
    tenant: string | undefined,
  ): Promise<RefusalCount[]> {
    const key = KEY[dimension];
    const bucket = sql<number>`floor(extract(epoch from (${auditRecords.occurredAt} - ${from.toISOString()}::timestamptz)) * 1000 / ${bucketMs})::int`;
    const rows = await this.database.db
      .select({ key: sql<string>`${key}`, bucket, count: sql<number>`count(*)::int` })
      .from(auditRecords)
      .where(and(...this.deniedIn(from, to, tenant)))
      .groupBy(sql`1`, sql`2`);
    return rows.map((r) => ({ key: String(r.key), bucket: Number(r.bucket), count: Number(r.count) }));
  }

  /** The newest `limit` denials of one group in [from, to). */
  async refusalRecords(
    dimension: RefusalDimension,
    key: string,
    from: Date,
    to: Date,
    tenant: string | undefined,
    limit: number,
  ): Promise<AuditRow[]> {
    return this.database.db
      .select()
      .from(auditRecords)
      .where(and(...this.deniedIn(from, to, tenant), sql`${KEY[dimension]} = ${key}`))
      .orderBy(desc(auditRecords.id))
      .limit(limit);
  }

  /** One record by database id, only within `tenant` when given; undefined when not found (or another tenant's). */
  async record(id: number, tenant: string | undefined): Promise<AuditRow | undefined> {
    const [row] = await this.database.db
      .select()
      .from(auditRecords)
      .where(and(eq(auditRecords.id, id), ...(tenant === undefined ? [] : [eq(auditRecords.tenant, tenant)])))
      .limit(1);
    return row;
  }

  /**
   * Checks one record's link of the hash chain: its hash recomputed from its content and
   * `prevHash`, and the hash of the chained record before it (whatever its tenant: only the hash
   * is read). The full walk is `npm run audit:verify`.
   */
  async chainStatus(row: AuditRow): Promise<ChainStatus> {
    if (row.hash === null || row.prevHash === null)
      return { status: 'unchained', hashMatches: null, linkMatches: null };
    const hashMatches = chainHash(row.prevHash, row) === row.hash;
    const [previous] = await this.database.db
      .select({ hash: auditRecords.hash })
      .from(auditRecords)
      .where(and(lt(auditRecords.id, row.id), sql`${auditRecords.hash} is not null`))
      .orderBy(desc(auditRecords.id))
      .limit(1);
    const linkMatches = (previous?.hash ?? GENESIS_HASH) === row.prevHash;
    return { status: hashMatches && linkMatches ? 'verified' : 'broken', hashMatches, linkMatches };
  }

  private deniedIn(from: Date, to: Date, tenant: string | undefined): SQL[] {
    return [
      eq(auditRecords.kind, 'access'),
      eq(auditRecords.decision, 'deny'),
      gte(auditRecords.occurredAt, from),
      lt(auditRecords.occurredAt, to),
      ...(tenant === undefined ? [] : [eq(auditRecords.tenant, tenant)]),
    ];
  }
}
