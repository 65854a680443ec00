import { Injectable } from '@nestjs/common';
import { and, asc, count, eq, gte, lt, type SQL } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import { analyticsEvents, type NewAnalyticsEvent } from './event.schema';

@Injectable()
export class EventsRepository {
  constructor(private readonly database: DatabaseService) {}

  /** One multi-row INSERT: the batch is written whole or not at all. */
  async insertMany(events: NewAnalyticsEvent[]): Promise<void> {
    await this.database.db.insert(analyticsEvents).values(events);
  }

  /** Event counts per name within one tenant. */
  async countByName(tenant: string, filter: { name?: string; from?: Date; to?: Date }): Promise<{ name: string; count: number }[]> {
    const where: SQL[] = [eq(analyticsEvents.tenant, tenant)];
    if (filter.name) where.push(eq(analyticsEvents.name, filter.name));
    if (filter.from) where.push(gte(analyticsEvents.occurredAt, filter.from));
    if (filter.to) where.push(lt(analyticsEvents.occurredAt, filter.to));
    return this.database.db
      .select({ name: analyticsEvents.name, count: count() })
      .from(analyticsEvents)
      .where(and(...where))
      .groupBy(analyticsEvents.name)
      .orderBy(asc(analyticsEvents.name));
  }
}
