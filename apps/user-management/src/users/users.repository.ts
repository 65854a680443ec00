import { Injectable } from '@nestjs/common';
import { and, desc, eq, sql } from 'drizzle-orm';
import { DatabaseService, olderThan } from '@platform/database';
import type { CursorPosition } from '@platform/http';
import { users, type UserRow } from './user.schema';

/** Profile fields taken from token claims. */
export interface UserProfile {
  tenant: string;
  issuer: string;
  subject: string;
  type: 'user' | 'service';
  email: string | null;
  name: string | null;
}

@Injectable()
export class UsersRepository {
  constructor(private readonly database: DatabaseService) {}

  /** Creates the user on first sight, or refreshes its profile and last-seen time; one statement. */
  async upsert(profile: UserProfile): Promise<UserRow> {
    const [row] = await this.database.db
      .insert(users)
      .values(profile)
      .onConflictDoUpdate({
        target: [users.tenant, users.issuer, users.subject],
        set: {
          email: sql`coalesce(excluded.email, ${users.email})`,
          name: sql`coalesce(excluded.name, ${users.name})`,
          type: profile.type,
          lastSeenAt: sql`now()`,
        },
      })
      .returning();
    return row;
  }

  /** The user if it exists in this tenant; undefined otherwise (another tenant's is invisible). */
  async findInTenant(tenant: string, id: string): Promise<UserRow | undefined> {
    const [row] = await this.database.db.select().from(users).where(and(eq(users.tenant, tenant), eq(users.id, id)));
    return row;
  }

  /** Users of one tenant, newest first, after `cursor`. */
  async listByTenant(tenant: string, limit: number, cursor?: CursorPosition): Promise<UserRow[]> {
    return this.database.db
      .select()
      .from(users)
      .where(and(eq(users.tenant, tenant), olderThan(users.createdAt, users.id, cursor)))
      .orderBy(desc(users.createdAt), desc(users.id))
      .limit(limit);
  }
}
