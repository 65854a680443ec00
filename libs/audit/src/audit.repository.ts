import { Injectable } from '@nestjs/common';
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
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

  /** Inserts every row in one statement (one round trip). */
  async insertMany(rows: NewAuditRow[]): Promise<void> {
    if (rows.length > 0) await this.database.db.insert(auditRecords).values(rows);
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
