import { Injectable } from '@nestjs/common';
import { and, asc, count, countDistinct, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import { analyticsEvents, type NewAnalyticsEvent } from './event.schema';

/** The user an event counts for: the one it names, else its sender. */
const countedUser = sql`coalesce(${analyticsEvents.userId}, ${analyticsEvents.subject})`;

/** Events of one tenant: every method takes it. */
@Injectable()
export class EventsRepository {
  constructor(private readonly database: DatabaseService) {}

  /** One multi-row INSERT: the batch is written whole or not at all. */
  async insertMany(events: NewAnalyticsEvent[]): Promise<void> {
    await this.database.db.insert(analyticsEvents).values(events);
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
