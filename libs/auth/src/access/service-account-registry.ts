import { Injectable, Optional } from '@nestjs/common';
import { and, desc, eq } from 'drizzle-orm';
import { DatabaseService, olderThan } from '@platform/database';
import type { CursorPosition } from '@platform/http';
import { AccessStateService } from './access-state.service';
import { serviceAccounts, type ServiceAccountRow } from './access.schema';

/**
 * The one writer of the `service_accounts` table (the guard's machine bindings): every tenant-scoped
 * read and write of it, each change applied on every instance (AccessStateService) before the
 * method returns. Feature apps manage service accounts through this, never the table itself.
 */
@Injectable()
export class ServiceAccountRegistry {
  constructor(
    private readonly access: AccessStateService,
    // Optional as in AccessStateService: the auth module also runs in tests without a database.
    @Optional() private readonly database?: DatabaseService,
  ) {}

  /** Registers a machine client in a tenant. @returns the account, or undefined when the client is registered in this tenant already */
  async register(account: {
    tenant: string;
    clientId: string;
    name: string;
    scopes: string[];
    createdBy: string;
  }): Promise<ServiceAccountRow | undefined> {
    const [row] = await this.db().insert(serviceAccounts).values(account).onConflictDoNothing().returning();
    if (row) await this.access.changed();
    return row;
  }

  async findInTenant(tenant: string, id: string): Promise<ServiceAccountRow | undefined> {
    const [row] = await this.db()
      .select()
      .from(serviceAccounts)
      .where(and(eq(serviceAccounts.tenant, tenant), eq(serviceAccounts.id, id)));
    return row;
  }

  /** One page of a tenant's accounts, newest first, after `cursor`. */
  async listByTenant(tenant: string, limit: number, cursor?: CursorPosition): Promise<ServiceAccountRow[]> {
    return this.db()
      .select()
      .from(serviceAccounts)
      .where(and(eq(serviceAccounts.tenant, tenant), olderThan(serviceAccounts.createdAt, serviceAccounts.id, cursor)))
      .orderBy(desc(serviceAccounts.createdAt), desc(serviceAccounts.id))
      .limit(limit);
  }

  /** @returns the changed account, or undefined when the tenant has none with this id */
  async setStatus(
    tenant: string,
    id: string,
    status: 'active' | 'deactivated',
  ): Promise<ServiceAccountRow | undefined> {
    const [row] = await this.db()
      .update(serviceAccounts)
      .set({ status })
      .where(and(eq(serviceAccounts.tenant, tenant), eq(serviceAccounts.id, id)))
      .returning();
    if (row) await this.access.changed();
    return row;
  }

  /** @returns the changed account, or undefined when the tenant has none with this id */
  async setScopes(tenant: string, id: string, scopes: string[]): Promise<ServiceAccountRow | undefined> {
    const [row] = await this.db()
      .update(serviceAccounts)
      .set({ scopes })
      .where(and(eq(serviceAccounts.tenant, tenant), eq(serviceAccounts.id, id)))
      .returning();
    if (row) await this.access.changed();
    return row;
  }

  private db() {
    if (!this.database) throw new Error('ServiceAccountRegistry needs a database');
    return this.database.db;
  }
}
