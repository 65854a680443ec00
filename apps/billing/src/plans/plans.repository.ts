import { Injectable } from '@nestjs/common';
import { desc, eq } from 'drizzle-orm';
import { DatabaseService, olderThan } from '@platform/database';
import type { CursorPosition } from '@platform/http';
import { plans, type PlanRow } from './plan.schema';

/** The plan catalogue. Platform-wide: the one billing table without a tenant. */
@Injectable()
export class PlansRepository {
  constructor(private readonly database: DatabaseService) {}

  /** @returns the new plan, or undefined when the code is taken */
  async create(plan: Omit<typeof plans.$inferInsert, 'id' | 'createdAt' | 'active'>): Promise<PlanRow | undefined> {
    const [row] = await this.database.db.insert(plans).values(plan).onConflictDoNothing().returning();
    return row;
  }

  async find(id: string): Promise<PlanRow | undefined> {
    const [row] = await this.database.db.select().from(plans).where(eq(plans.id, id));
    return row;
  }

  async list(limit: number, cursor?: CursorPosition): Promise<PlanRow[]> {
    return this.database.db
      .select()
      .from(plans)
      .where(olderThan(plans.createdAt, plans.id, cursor))
      .orderBy(desc(plans.createdAt), desc(plans.id))
      .limit(limit);
  }

  async archive(id: string): Promise<PlanRow | undefined> {
    const [row] = await this.database.db.update(plans).set({ active: false }).where(eq(plans.id, id)).returning();
    return row;
  }
}
