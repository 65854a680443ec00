import { Injectable } from '@nestjs/common';
import { and, asc, count, countDistinct, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import { analyticsEvents } from './event.schema';

/** One event to store; `id` and `receivedAt` are the database's defaults. */
export interface EventRow {
  tenant: string;
  name: string;
  occurredAt: Date;
  /** Stored as jsonb. */
  properties: Record<string, unknown>;
  subject: string;
  userId: string | null;
  clientId: string | null;
}

/** The user an event counts for: the one it names, else its sender. */
const countedUser = sql`coalesce(${analyticsEvents.userId}, ${analyticsEvents.subject})`;

/** Events of one tenant: every method takes it. */
@Injectable()
export class EventsRepository {
  /** The write: one INSERT for any batch size, its SQL built and prepared once (see `insertMany`). */
  private readonly insertBatch;

  constructor(private readonly database: DatabaseService) {
    // The batch travels as one JSON parameter (the rows as JSON.stringify writes them: dates as ISO
    // strings, an absent userId as no key), unpacked by the server: the statement text, and so its
    // plan, is the same for 1 or 1,000 events, and no per-value parameters are built. The INSERT is
    // a CTE answering its row count because drizzle's insert-select would list every column, and
    // `id` and `received_at` must keep the defaults the database gives them.
    const inserted = database.db.$with('inserted', { id: sql<number>`id` }).as(sql`
      insert into analytics_events (tenant, name, occurred_at, properties, subject, user_id, client_id)
      select e.tenant, e.name, e."occurredAt", e.properties, e.subject, e."userId", e."clientId"
      from json_to_recordset(${sql.placeholder('events')}::json) as e(tenant text, name text,
        "occurredAt" timestamptz, properties jsonb, subject text, "userId" text, "clientId" text)
      returning id`);
    this.insertBatch = database.db
      .with(inserted)
      .select({ inserted: count() })
      .from(inserted)
      .prepare('analytics_insert_events');
  }

  /**
   * Stores the events in one statement: written whole or not at all.
   * @returns how many rows were inserted (the batch size)
   * @throws the database error (e.g. a NOT NULL column missing); nothing is written then
   */
  async insertMany(events: readonly EventRow[]): Promise<number> {
    const [row] = await this.insertBatch.execute({ events: JSON.stringify(events) });
    return row.inserted;
  }

  /** Event counts and distinct users per name within one tenant. */
  async countByName(
    tenant: string,
    filter: { name?: string; from?: Date; to?: Date },
  ): Promise<{ name: string; count: number; uniqueUsers: number }[]> {
    const where: SQL[] = [eq(analyticsEvents.tenant, tenant)];
    if (filter.name) where.push(eq(analyticsEvents.name, filter.name));
    if (filter.from) where.push(gte(analyticsEvents.occurredAt, filter.from));
    if (filter.to) where.push(lt(analyticsEvents.occurredAt, filter.to));
    return this.database.db
      .select({ name: analyticsEvents.name, count: count(), uniqueUsers: countDistinct(countedUser) })
      .from(analyticsEvents)
      .where(and(...where))
      .groupBy(analyticsEvents.name)
      .orderBy(asc(analyticsEvents.name));
  }

  /** Counts and distinct users of one event name per UTC hour or day in [from, to); empty buckets are left out. */
  async series(
    tenant: string,
    name: string,
    from: Date,
    to: Date,
    interval: 'hour' | 'day',
  ): Promise<{ start: Date; count: number; uniqueUsers: number }[]> {
    // Inlined, not bound: GROUP BY must see the very expression of the SELECT (interval is 'hour' or 'day').
    const bucket = sql<Date>`date_trunc(${sql.raw(interval === 'hour' ? "'hour'" : "'day'")}, ${analyticsEvents.occurredAt}, 'UTC')`;
    const rows = await this.database.db
      .select({ start: bucket, count: count(), uniqueUsers: countDistinct(countedUser) })
      .from(analyticsEvents)
      .where(
        and(
          eq(analyticsEvents.tenant, tenant),
          eq(analyticsEvents.name, name),
          gte(analyticsEvents.occurredAt, from),
          lt(analyticsEvents.occurredAt, to),
        ),
      )
      .groupBy(bucket)
      .orderBy(asc(bucket));
    return rows.map((r) => ({ start: new Date(r.start), count: Number(r.count), uniqueUsers: Number(r.uniqueUsers) }));
  }
}
