import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { hasTenant, PrincipalEvents, type Principal, type TenantPrincipal } from '@platform/auth';
import { DatabaseService } from '@platform/database';
import type { UserRow } from './user.schema';
import { UsersRepository, type UserProfile } from './users.repository';

/** Principals remembered as provisioned; beyond it the longest-known are forgotten. */
const MAX_REMEMBERED = 50_000;
/** Provisioning writes run at most this many at a time: a burst of new users never starves requests of connections. */
const CONCURRENCY = 2;
/** Most profiles one statement writes (one JSON parameter of about 100 bytes each). */
const BATCH_SIZE = 500;

/** One claim's part of a profile fingerprint: absent, a string, or (never written) any other type. */
const part = (value: unknown): string =>
  value === undefined || value === null ? '' : typeof value === 'string' ? `=${value}` : `\u0001${typeof value}`;

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
 * starves requests of database connections. Profiles queued meanwhile are written together: one
 * statement for up to 500 of them (and one for their new tenants), not one per principal. Shutdown
 * waits for the queue.
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
    // Claim strings never hold NUL (the claim mapper refuses it): NUL separates the parts unambiguously.
    const key = `${principal.tenant}\u0000${principal.issuer}\u0000${principal.subject}`;
    const { email, name, preferred_username: username } = principal.claims;
    // Plain concatenation, not JSON: this runs on every authorized request. A claim of another type
    // than string is told apart by its type only (`\u0001`): it is never written, so its value does not matter.
    const fingerprint = `${principal.type}\u0000${part(email)}\u0000${part(name ?? username)}`;
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

  /** Writes queued profiles, a batch at a time, until none is left. */
  private async drain(): Promise<void> {
    // Let the requests already read in this turn of the event loop join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.size > 0) {
      const batch: [string, UserProfile][] = [];
      for (const entry of this.queue) {
        batch.push(entry);
        if (batch.length === BATCH_SIZE) break;
      }
      for (const [key] of batch) this.queue.delete(key);
      const profiles = batch.map(([, profile]) => profile);
      await this.provisionMany(profiles).catch((err: Error) => {
        for (const [key] of batch) this.provisioned.delete(key);
        this.logger.warn(
          { err, users: profiles.length, tenants: [...new Set(profiles.map((p) => p.tenant))].slice(0, 10) },
          'Just-in-time user provisioning failed; retried at the next request',
        );
      });
    }
  }

  /** Writes the new tenants, then the users, of a batch of distinct identities. */
  private async provisionMany(profiles: readonly UserProfile[]): Promise<void> {
    const newTenants = [...new Set(profiles.map((p) => p.tenant))].filter((t) => !this.knownTenants.has(t));
    if (newTenants.length > 0) {
      await this.repository.ensureTenants(newTenants);
      for (const tenant of newTenants) this.knownTenants.add(tenant);
    }
    await this.repository.upsertMany(profiles);
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
