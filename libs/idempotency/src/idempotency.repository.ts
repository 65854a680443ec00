import { Injectable } from '@nestjs/common';
import { and, eq, lt, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PlatformConfig } from '@platform/config';
import { DatabaseService, type Db } from '@platform/database';
import { ConflictError, requestState, type ServedRequest } from '@platform/http';
import { idempotencyKeys, type IdempotencyKeyRow } from './idempotency.schema';

/** Who sent a key: keys are scoped per tenant and subject. */
export interface KeyOwner {
  tenant: string;
  subject: string;
}

/**
 * Data access of idempotency keys. An `in_progress` key is a lease: held by one process
 * (`lease_owner`, this instance's id) until `lease_expires_at` (now + `IDEMPOTENCY_LEASE_MS`, by
 * the database's clock), and fenced by `lease_token`: completing or releasing a key applies only
 * while the caller's token is still the key's. A retry after the lease expired (the holder
 * crashed) takes the key over with a new token, so at most one run can ever complete it.
 */
@Injectable()
export class IdempotencyRepository {
  /** This process, as it appears in `lease_owner` (host, pid and a random suffix). */
  readonly instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly leaseMs: number;

  constructor(
    private readonly database: DatabaseService,
    config: PlatformConfig,
  ) {
    this.leaseMs = config.idempotencyLeaseMs;
  }

  /**
   * Claims `key` for a request: inserts it `in_progress`, leased to this process, unless the owner
   * already used it. The primary key makes concurrent claims of one key have exactly one winner.
   *
   * @returns the lease token when this request claimed the key, else undefined
   */
  async claim(owner: KeyOwner, key: string, requestHash: string): Promise<string | undefined> {
    const token = randomUUID();
    const inserted = await this.database.db
      .insert(idempotencyKeys)
      .values({
        ...owner,
        key,
        requestHash,
        status: 'in_progress',
        leaseOwner: this.instanceId,
        leaseToken: token,
        leaseExpiresAt: this.leaseEnd(),
      })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    return inserted.length === 1 ? token : undefined;
  }

  /**
   * Takes over an `in_progress` key whose lease has expired (its holder crashed or gave up), for
   * the same request. Its earlier run committed nothing: a committed run completes the key in
   * its own transaction (see {@link completeInTransaction}), and a run still going cannot
   * complete it any more once the token changed.
   *
   * @returns the new lease token, or undefined when the lease still holds or the key changed
   */
  async takeOver(owner: KeyOwner, key: string, requestHash: string): Promise<string | undefined> {
    const token = randomUUID();
    const taken = await this.database.db
      .update(idempotencyKeys)
      .set({ leaseOwner: this.instanceId, leaseToken: token, leaseExpiresAt: this.leaseEnd() })
      .where(
        and(
          this.where(owner, key),
          eq(idempotencyKeys.status, 'in_progress'),
          eq(idempotencyKeys.requestHash, requestHash),
          // Keys claimed before leases existed expire a lease after their creation.
          sql`coalesce(${idempotencyKeys.leaseExpiresAt}, ${idempotencyKeys.createdAt} + ${`${this.leaseMs} milliseconds`}::interval) < now()`,
        ),
      )
      .returning({ key: idempotencyKeys.key });
    return taken.length === 1 ? token : undefined;
  }

  async find(owner: KeyOwner, key: string): Promise<IdempotencyKeyRow | undefined> {
    const [row] = await this.database.db.select().from(idempotencyKeys).where(this.where(owner, key));
    return row;
  }

  /**
   * Stores the response of the request holding lease `token`, for replay, in `db` (pass the
   * transaction of the change the response describes, so both commit or neither does).
   *
   * @returns false when the lease is no longer this token's (expired and taken over): the caller must not commit
   */
  async complete(
    owner: KeyOwner,
    key: string,
    token: string,
    responseStatus: number,
    responseBody: unknown,
    db: Db = this.database.db,
  ): Promise<boolean> {
    const updated = await db
      .update(idempotencyKeys)
      .set({ status: 'completed', responseStatus, responseBody: responseBody ?? null, leaseExpiresAt: null })
      .where(
        and(this.where(owner, key), eq(idempotencyKeys.status, 'in_progress'), eq(idempotencyKeys.leaseToken, token)),
      )
      .returning({ key: idempotencyKeys.key });
    return updated.length === 1;
  }

  /**
   * Completes the `Idempotency-Key` of `served` (the request, as its controller took it with
   * `@Served()`), in `tx`, the transaction of the change its response describes: "committed but
   * the key still in progress" cannot happen, so a retry after a crash replays the committed
   * result. `responseBody` must be what the handler returns. Does nothing on a route without
   * `@Idempotent()`.
   *
   * @throws ConflictError 409 `idempotency_lease_lost` when the lease expired and a retry took the
   *   key over meanwhile: the transaction must roll back (that retry runs instead)
   */
  async completeInTransaction(tx: Db, responseBody: unknown, served: ServedRequest): Promise<void> {
    const lease = requestState(served.request).idempotencyLease;
    if (!lease) return;
    const owner = { tenant: lease.tenant, subject: lease.subject };
    if (!(await this.complete(owner, lease.key, lease.token, lease.status, responseBody, tx))) {
      throw new ConflictError(
        'idempotency_lease_lost',
        'This request took longer than its Idempotency-Key lease and a retry took the key over; nothing was done here.',
      );
    }
    lease.completed = true;
  }

  /** Frees a claimed key whose request failed, so the client may retry with it (only while `token` holds it). */
  async release(owner: KeyOwner, key: string, token: string): Promise<void> {
    await this.database.db
      .delete(idempotencyKeys)
      .where(
        and(this.where(owner, key), eq(idempotencyKeys.status, 'in_progress'), eq(idempotencyKeys.leaseToken, token)),
      );
  }

  /** Removes the key if it is older than its retention, before it is claimed again (one statement: no race with a fresh claim). */
  async expire(owner: KeyOwner, key: string, createdBefore: Date): Promise<void> {
    await this.database.db
      .delete(idempotencyKeys)
      .where(and(this.where(owner, key), lt(idempotencyKeys.createdAt, createdBefore)));
  }

  private leaseEnd() {
    return sql`now() + ${`${this.leaseMs} milliseconds`}::interval`;
  }

  private where(owner: KeyOwner, key: string) {
    return and(
      eq(idempotencyKeys.tenant, owner.tenant),
      eq(idempotencyKeys.subject, owner.subject),
      eq(idempotencyKeys.key, key),
    );
  }
}
