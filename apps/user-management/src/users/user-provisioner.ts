import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { hasTenant, PrincipalEvents, type Principal, type TenantPrincipal } from '@platform/auth';
import { DatabaseService } from '@platform/database';
import type { UserRow } from './user.schema';
import { UsersRepository, type UserProfile } from './users.repository';

/** Principals remembered as provisioned; beyond it the longest-known are forgotten. */
const MAX_REMEMBERED = 50_000;
/** Provisioning writes run at most this many at a time: a burst of new users never starves requests of connections. */
const CONCURRENCY = 2;

const claimString = (value: unknown) => (typeof value === 'string' && value.length <= 320 ? value : null);

/** The profile a token gives of its principal (the email and name claims, when present). */
export function profileOf(principal: TenantPrincipal): UserProfile {
  return {
    tenant: principal.tenant,
    issuer: principal.issuer,
    subject: principal.subject,
    type: principal.type,
    email: claimString(principal.claims.email),
    name: claimString(principal.claims.name) ?? claimString(principal.claims.preferred_username),
  };
}

/**
 * Provisions users (and their tenant) just in time, from any authorized request to any app: the
 * first time a principal of a tenant is seen, and again when its profile claims change. On the
 * request path it costs a Map lookup; the write happens after, off the request (errors logged,
 * retried at the principal's next request), at most two at a time so that a burst of new users never
 * starves requests of database connections. Shutdown waits for the queue.
 */
@Injectable()
export class UserProvisioner implements OnModuleInit {
  private readonly logger = new Logger(UserProvisioner.name);
  /** Identity key -> fingerprint of the profile last written. */
  private readonly provisioned = new Map<string, string>();
  /** Profiles waiting to be written, by identity key (a later profile of the same identity replaces an earlier one). */
  private readonly queue = new Map<string, UserProfile>();
  private readonly knownTenants = new Set<string>();
  private readonly workers = new Set<Promise<void>>();

  constructor(
    private readonly events: PrincipalEvents,
    private readonly repository: UsersRepository,
    private readonly database: DatabaseService,
  ) {}

  onModuleInit(): void {
    this.events.onAuthenticated((principal) => this.seen(principal));
    this.database.beforeClose(() => this.settled());
  }

  /** Resolves when every provisioning write queued so far has finished (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.workers.size > 0) await Promise.all(this.workers);
  }

  /** Notes a principal; schedules its upsert when it is new or its profile changed. */
  seen(principal: Principal): void {
    if (!hasTenant(principal)) return;
    const key = `${principal.tenant}\u0000${principal.issuer}\u0000${principal.subject}`;
    const fingerprint = `${principal.type}\u0000${JSON.stringify(principal.claims.email ?? '')}\u0000${JSON.stringify(principal.claims.name ?? principal.claims.preferred_username ?? '')}`;
    if (this.provisioned.get(key) === fingerprint) return;
    // Bounded memory: the longest-known identity is forgotten (one extra upsert if it comes back).
    if (this.provisioned.size >= MAX_REMEMBERED)
      this.provisioned.delete(this.provisioned.keys().next().value as string);
    this.provisioned.set(key, fingerprint);
    this.queue.set(key, profileOf(principal));
    this.startWorker();
  }

  private startWorker(): void {
    if (this.workers.size >= CONCURRENCY) return;
    const worker: Promise<void> = this.drain().finally(() => {
      this.workers.delete(worker);
      // A profile queued while this worker was finishing is not left behind.
      if (this.queue.size > 0) this.startWorker();
    });
    this.workers.add(worker);
  }

  /** Writes queued profiles one after the other until none is left. */
  private async drain(): Promise<void> {
    for (let next = this.queue.entries().next(); !next.done; next = this.queue.entries().next()) {
      const [key, profile] = next.value;
      this.queue.delete(key);
      await this.provision(profile).catch((err: Error) => {
        this.provisioned.delete(key);
        this.logger.warn(
          { err, tenant: profile.tenant },
          'Just-in-time user provisioning failed; retried at the next request',
        );
      });
    }
  }

  /** Writes the tenant and the user now (also used by `GET /users/me` and `/users/tenant`, which must read their own write). */
  async provision(profile: UserProfile): Promise<UserRow> {
    if (!this.knownTenants.has(profile.tenant)) {
      await this.repository.ensureTenant(profile.tenant);
      this.knownTenants.add(profile.tenant);
    }
    return this.repository.upsert(profile);
  }
}
