import { Injectable } from '@nestjs/common';
import { and, desc, eq } from 'drizzle-orm';
import { serviceAccounts, type ServiceAccountRow } from '@platform/auth';
import { DatabaseService, olderThan } from '@platform/database';
import type { CursorPosition } from '@platform/http';

/** Service accounts of one tenant: every method takes it. */
@Injectable()
export class ServiceAccountsRepository {
  constructor(private readonly database: DatabaseService) {}

  /** @returns the account, or undefined when the client is registered in this tenant already */
  async create(account: { tenant: string; clientId: string; name: string; scopes: string[]; createdBy: string }): Promise<ServiceAccountRow | undefined> {
    const [row] = await this.database.db.insert(serviceAccounts).values(account).onConflictDoNothing().returning();
    return row;
  }

  async findInTenant(tenant: string, id: string): Promise<ServiceAccountRow | undefined> {
    const [row] = await this.database.db.select().from(serviceAccounts).where(and(eq(serviceAccounts.tenant, tenant), eq(serviceAccounts.id, id)));
    return row;
  }

  async listByTenant(tenant: string, limit: number, cursor?: CursorPosition): Promise<ServiceAccountRow[]> {
    return this.database.db
      .select()
      .from(serviceAccounts)
      .where(and(eq(serviceAccounts.tenant, tenant), olderThan(serviceAccounts.createdAt, serviceAccounts.id, cursor)))
      .orderBy(desc(serviceAccounts.createdAt), desc(serviceAccounts.id))
      .limit(limit);
  }

  async setStatus(tenant: string, id: string, status: 'active' | 'deactivated'): Promise<ServiceAccountRow | undefined> {
    const [row] = await this.database.db.update(serviceAccounts).set({ status }).where(and(eq(serviceAccounts.tenant, tenant), eq(serviceAccounts.id, id))).returning();
    return row;
  }

  async setScopes(tenant: string, id: string, scopes: string[]): Promise<ServiceAccountRow | undefined> {
    const [row] = await this.database.db.update(serviceAccounts).set({ scopes }).where(and(eq(serviceAccounts.tenant, tenant), eq(serviceAccounts.id, id))).returning();
    return row;
  }
}
