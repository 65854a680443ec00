import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { and, eq } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import { deactivatedPrincipals, roleBindings, serviceAccounts } from './access.schema';

/** Channel of the change notifications between platform instances. */
export const ACCESS_CHANGED_CHANNEL = 'platform_access_changed';

/** Full reload period, in milliseconds: a safety net should a notification ever be missed. */
const RESYNC_INTERVAL_MS = 30_000;

const keyOf = (tenant: string | null, subject: string) => `${tenant ?? ''}\u0000${subject}`;

/** A registered machine client, as the guard needs it. */
export interface ServiceAccountGrant {
  /** The scopes the client may use; its tokens' other scopes are ignored. */
  scopes: ReadonlySet<string>;
  active: boolean;
}

/**
 * Role bindings, deactivated principals and service accounts, held in memory so that the per-request decision makes
 * no database round trip. Every change is written to the database, applied here at once, and
 * announced with NOTIFY so that every other instance reloads within a second; a full reload also
 * runs every 30 s and after a lost LISTEN connection.
 */
@Injectable()
export class AccessStateService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AccessStateService.name);
  private bindings = new Map<string, string[]>();
  private deactivated = new Set<string>();
  /** Subjects deactivated in some tenant: a token naming no tenant cannot slip past deactivation. */
  private deactivatedSubjects = new Set<string>();
  private machines = new Map<string, ServiceAccountGrant>();
  private readonly listeners = new Set<() => void>();
  private reloading?: Promise<void>;
  /** The read queued behind the running one: it starts after every change already committed. */
  private queued?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private loaded = 0;

  constructor(@Optional() private readonly database?: DatabaseService) {}

  async onModuleInit(): Promise<void> {
    if (!this.database) return;
    // Listen first, then read: a change made in between is not left to the periodic resync.
    await this.database.listen(ACCESS_CHANGED_CHANNEL, () => void this.reload());
    await this.reload();
    this.timer = setInterval(() => void this.reload(), RESYNC_INTERVAL_MS).unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Changes with every reload that finds a different state: a decision made from an older version
   * may be stale. A reload that reads back the same bindings, deactivations and service accounts
   * (the 30 s resync, a notification of a change that changed nothing) keeps it, so that the
   * allows remembered per token (known-allow step) stay valid.
   */
  get version(): number {
    return this.loaded;
  }

  /** Platform roles bound to a principal (beyond its token's). */
  rolesOf(tenant: string | null, subject: string): readonly string[] {
    return this.bindings.get(keyOf(tenant, subject)) ?? [];
  }

  /** True when deactivated in `tenant`; for a principal outside any tenant, when deactivated in any tenant. */
  isDeactivated(tenant: string | null, subject: string): boolean {
    return tenant === null ? this.deactivatedSubjects.has(subject) : this.deactivated.has(keyOf(tenant, subject));
  }

  /** The service-account binding of a machine client in a tenant; undefined when it is not registered there. */
  serviceAccount(tenant: string, clientId: string): ServiceAccountGrant | undefined {
    return this.machines.get(keyOf(tenant, clientId));
  }

  /**
   * Registers a machine client for a tenant unless it is registered there already (development
   * seeds). @returns false when it was registered already
   */
  async seedServiceAccount(account: {
    tenant: string;
    clientId: string;
    name: string;
    scopes: string[];
    createdBy: string;
  }): Promise<boolean> {
    const rows = await this.db()
      .insert(serviceAccounts)
      .values(account)
      .onConflictDoNothing()
      .returning({ id: serviceAccounts.id });
    if (rows.length > 0) await this.changed();
    return rows.length > 0;
  }

  /** Applies a change the caller wrote to the access tables: here at once, on every other instance within a second. */
  async changed(): Promise<void> {
    await this.reload();
    await this.database?.notify(ACCESS_CHANGED_CHANNEL, 'changed');
  }

  /** Calls `listener` after every reload (tests await propagation with it). Returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Grants `role`; @returns false when it was already bound. */
  async grant(tenant: string, subject: string, role: string, grantedBy: string): Promise<boolean> {
    const rows = await this.db()
      .insert(roleBindings)
      .values({ tenant, subject, role, grantedBy })
      .onConflictDoNothing()
      .returning({ role: roleBindings.role });
    await this.changed();
    return rows.length > 0;
  }

  /** Revokes `role`; @returns false when it was not bound. */
  async revoke(tenant: string, subject: string, role: string): Promise<boolean> {
    const rows = await this.db()
      .delete(roleBindings)
      .where(and(eq(roleBindings.tenant, tenant), eq(roleBindings.subject, subject), eq(roleBindings.role, role)))
      .returning({ role: roleBindings.role });
    await this.changed();
    return rows.length > 0;
  }

  /** Role bindings made by `grantor` (e.g. the start-up bootstrap), read from the database. */
  async bindingsGrantedBy(grantor: string): Promise<{ tenant: string; subject: string; role: string }[]> {
    return this.db()
      .select({ tenant: roleBindings.tenant, subject: roleBindings.subject, role: roleBindings.role })
      .from(roleBindings)
      .where(eq(roleBindings.grantedBy, grantor));
  }

  /**
   * Revokes each binding that `grantor` made (others stay), then applies the change once.
   * @returns the bindings this call removed (not those another instance removed first)
   */
  async revokeGrantedBy<B extends { tenant: string; subject: string; role: string }>(
    grantor: string,
    bindings: B[],
  ): Promise<B[]> {
    const removed: B[] = [];
    for (const b of bindings) {
      const rows = await this.db()
        .delete(roleBindings)
        .where(
          and(
            eq(roleBindings.tenant, b.tenant),
            eq(roleBindings.subject, b.subject),
            eq(roleBindings.role, b.role),
            eq(roleBindings.grantedBy, grantor),
          ),
        )
        .returning({ role: roleBindings.role });
      if (rows.length > 0) removed.push(b);
    }
    if (removed.length > 0) await this.changed();
    return removed;
  }

  async deactivate(tenant: string, subject: string, deactivatedBy: string): Promise<void> {
    await this.db().insert(deactivatedPrincipals).values({ tenant, subject, deactivatedBy }).onConflictDoNothing();
    await this.changed();
  }

  async reactivate(tenant: string, subject: string): Promise<void> {
    await this.db()
      .delete(deactivatedPrincipals)
      .where(and(eq(deactivatedPrincipals.tenant, tenant), eq(deactivatedPrincipals.subject, subject)));
    await this.changed();
  }

  /**
   * Reads the whole state again. A call made while a read runs gets the next read, which starts
   * after the running one (so it sees every change committed before the call); any number of
   * callers share that one queued read.
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.queued ??= this.reloading.then(() => {
        this.queued = undefined;
        return this.reload();
      });
      return this.queued;
    }
    this.reloading = this.read()
      .catch((err: Error) => this.logger.error({ err }, 'Access state reload failed; keeping the previous state'))
      .finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async read(): Promise<void> {
    const db = this.db();
    const [bindingRows, deactivatedRows, machineRows] = await Promise.all([
      db.select().from(roleBindings),
      db.select().from(deactivatedPrincipals),
      db.select().from(serviceAccounts),
    ]);
    const bindings = new Map<string, string[]>();
    for (const row of bindingRows) {
      const key = keyOf(row.tenant, row.subject);
      bindings.set(key, [...(bindings.get(key) ?? []), row.role]);
    }
    const next = {
      bindings,
      deactivated: new Set(deactivatedRows.map((row) => keyOf(row.tenant, row.subject))),
      machines: new Map(
        machineRows.map((row) => [
          keyOf(row.tenant, row.clientId),
          { scopes: new Set(row.scopes), active: row.status === 'active' },
        ]),
      ),
    };
    // Before the first read there is nothing to compare with: that read always counts as a change.
    const current = { bindings: this.bindings, deactivated: this.deactivated, machines: this.machines };
    const changed = this.loaded === 0 || !sameAccessState(current, next);
    this.bindings = next.bindings;
    this.deactivated = next.deactivated;
    this.deactivatedSubjects = new Set(deactivatedRows.map((row) => row.subject));
    this.machines = next.machines;
    if (changed) this.loaded += 1;
    for (const listener of this.listeners) listener();
  }

  private db() {
    if (!this.database) throw new Error('AccessStateService needs a database');
    return this.database.db;
  }
}

/** The access state as {@link AccessStateService} holds it in memory, keyed by tenant and subject (or client). */
interface AccessStateMaps {
  /** Roles bound per principal, in any order. */
  bindings: ReadonlyMap<string, readonly string[]>;
  deactivated: ReadonlySet<string>;
  machines: ReadonlyMap<string, ServiceAccountGrant>;
}

/**
 * True when `a` and `b` grant and refuse exactly the same: the same principals with the same
 * roles (order and repeats ignored: rows come back in no set order), the same deactivations, and
 * the same service accounts with the same scopes and status. O(size of the state).
 */
function sameAccessState(a: AccessStateMaps, b: AccessStateMaps): boolean {
  if (a.bindings.size !== b.bindings.size || a.deactivated.size !== b.deactivated.size) return false;
  if (a.machines.size !== b.machines.size) return false;
  for (const [key, roles] of a.bindings) {
    const other = b.bindings.get(key);
    if (other === undefined || !sameMembers(new Set(roles), new Set(other))) return false;
  }
  for (const key of a.deactivated) if (!b.deactivated.has(key)) return false;
  for (const [key, grant] of a.machines) {
    const other = b.machines.get(key);
    if (other === undefined || other.active !== grant.active || !sameMembers(grant.scopes, other.scopes)) return false;
  }
  return true;
}

function sameMembers(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}
