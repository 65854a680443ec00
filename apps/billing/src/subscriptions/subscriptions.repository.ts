import { Injectable } from '@nestjs/common';
import { and, desc, eq } from 'drizzle-orm';
import { DatabaseService, olderThan } from '@platform/database';
import type { CursorPosition } from '@platform/http';
import { subscriptions, type SubscriptionRow } from './subscription.schema';

/** Subscriptions, always within one tenant: every method takes it. */
@Injectable()
export class SubscriptionsRepository {
  constructor(private readonly database: DatabaseService) {}

  /** @returns the new subscription, or undefined when the tenant already has an active one */
  async create(tenant: string, planId: string, createdBy: string): Promise<SubscriptionRow | undefined> {
    const [row] = await this.database.db
      .insert(subscriptions)
      .values({ tenant, planId, createdBy })
      .onConflictDoNothing()
      .returning();
    return row;
  }

  async findInTenant(tenant: string, id: string): Promise<SubscriptionRow | undefined> {
    const [row] = await this.database.db
      .select()
      .from(subscriptions)
      .where(and(eq(subscriptions.tenant, tenant), eq(subscriptions.id, id)));
    return row;
  }

  async listByTenant(tenant: string, limit: number, cursor?: CursorPosition): Promise<SubscriptionRow[]> {
    return this.database.db
      .select()
      .from(subscriptions)
      .where(and(eq(subscriptions.tenant, tenant), olderThan(subscriptions.createdAt, subscriptions.id, cursor)))
      .orderBy(desc(subscriptions.createdAt), desc(subscriptions.id))
      .limit(limit);
  }

  /** Cancels an active subscription; undefined when it is not active (or not in this tenant). */
  async cancel(tenant: string, id: string): Promise<SubscriptionRow | undefined> {
    const [row] = await this.database.db
      .update(subscriptions)
      .set({ status: 'canceled', canceledAt: new Date() })
      .where(and(eq(subscriptions.tenant, tenant), eq(subscriptions.id, id), eq(subscriptions.status, 'active')))
      .returning();
    return row;
  }
}
