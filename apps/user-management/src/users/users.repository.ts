import { Injectable } from '@nestjs/common';
import { and, asc, count, desc, eq, sql } from 'drizzle-orm';
import { DatabaseService, olderThan } from '@platform/database';
import type { CursorPosition } from '@platform/http';
import { tenants, users, type TenantRow, type UserRow } from './user.schema';

/** Profile fields taken from token claims. */
export interface UserProfile {
  tenant: string;
  issuer: string;
  subject: string;
  type: 'user' | 'service';
  email: string | null;
  name: string | null;
}

/** Code-unit order (not locale order): the same on every process. */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One total order of identities, for lock ordering. */
const byIdentity = (a: UserProfile, b: UserProfile) =>
  compareText(a.tenant, b.tenant) || compareText(a.issuer, b.issuer) || compareText(a.subject, b.subject);

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

  /**
   * Many profiles in one statement, with the same semantics as `upsert` row by row: a new identity
   * is inserted, a known one gets its type, non-null email and name, and last-seen time refreshed.
   * The rows travel as one JSON parameter, so the statement text (and its plan) is the same for any
   * batch size and no per-row parameters are built. The identities must be distinct (one row may
   * not be updated twice by one statement); their tenants must exist (`ensureTenants`).
   *
   * @throws the database error; no row of the batch is written then
   */
  async upsertMany(profiles: readonly UserProfile[]): Promise<void> {
    if (profiles.length === 0) return;
    // Rows are locked in the order they are inserted: one total order (tenant, issuer, subject) for
    // every batch, so two writers (workers, replicas) holding the same new identities never deadlock.
    const rows = JSON.stringify(
      [...profiles].sort(byIdentity).map((p) => [p.tenant, p.issuer, p.subject, p.type, p.email, p.name]),
    );
    await this.database.db.execute(sql`
      insert into users (tenant, issuer, subject, type, email, name)
      select r->>0, r->>1, r->>2, r->>3, r->>4, r->>5 from jsonb_array_elements(${rows}::jsonb) as r
      on conflict (tenant, issuer, subject) do update set
        email = coalesce(excluded.email, users.email),
        name = coalesce(excluded.name, users.name),
        type = excluded.type,
        last_seen_at = now()`);
  }

  /** The user if it exists in this tenant; undefined otherwise (another tenant's is invisible). */
  async findInTenant(tenant: string, id: string): Promise<UserRow | undefined> {
    const [row] = await this.database.db
      .select()
      .from(users)
      .where(and(eq(users.tenant, tenant), eq(users.id, id)));
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

  /** Creates the tenant on first sight (with its first user). */
  async ensureTenant(key: string): Promise<void> {
    await this.database.db.insert(tenants).values({ key }).onConflictDoNothing();
  }

  /** Creates every tenant of `keys` not created yet; one statement. */
  async ensureTenants(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    // Sorted for the same reason as `upsertMany`'s rows: concurrent batches lock in one order.
    await this.database.db
      .insert(tenants)
      .values([...keys].sort(compareText).map((key) => ({ key })))
      .onConflictDoNothing();
  }

  /** The tenant and how many users it has. */
  async tenantWithCounts(key: string): Promise<{ tenant: TenantRow; users: number } | undefined> {
    const [tenant] = await this.database.db.select().from(tenants).where(eq(tenants.key, key));
    if (!tenant) return undefined;
    const [{ users: members }] = await this.database.db
      .select({ users: count() })
      .from(users)
      .where(eq(users.tenant, key));
    return { tenant, users: Number(members) };
  }

  /**
   * Every tenant one identity (issuer and subject) is a member of: across tenants by design, for
   * the caller's own memberships only.
   */
  async membershipsOf(issuer: string, subject: string): Promise<UserRow[]> {
    return this.database.db
      .select()
      .from(users)
      .where(and(eq(users.issuer, issuer), eq(users.subject, subject)))
      .orderBy(asc(users.tenant));
  }
}
