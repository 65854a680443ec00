import { Injectable } from '@nestjs/common';
import { and, eq, lt } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import { idempotencyKeys, type IdempotencyKeyRow } from './idempotency.schema';

/** Who sent a key: keys are scoped per tenant and subject. */
export interface KeyOwner {
  tenant: string;
  subject: string;
}

/** Data access of idempotency keys. */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly database: DatabaseService) {}

  /**
   * Claims `key` for a request: inserts it `in_progress` unless the owner already used it.
   * The primary key makes concurrent claims of one key have exactly one winner.
   *
   * @returns true when this request claimed the key
   */
  async claim(owner: KeyOwner, key: string, requestHash: string): Promise<boolean> {
    const inserted = await this.database.db
      .insert(idempotencyKeys)
      .values({ ...owner, key, requestHash, status: 'in_progress' })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    return inserted.length === 1;
  }

  async find(owner: KeyOwner, key: string): Promise<IdempotencyKeyRow | undefined> {
    const [row] = await this.database.db.select().from(idempotencyKeys).where(this.where(owner, key));
    return row;
  }

  /** Stores the response a claimed key's request produced, for replay. */
  async complete(owner: KeyOwner, key: string, responseStatus: number, responseBody: unknown): Promise<void> {
    await this.database.db
      .update(idempotencyKeys)
      .set({ status: 'completed', responseStatus, responseBody: responseBody ?? null })
      .where(this.where(owner, key));
  }

  /** Frees a claimed key whose request failed, so the client may retry with it. */
  async release(owner: KeyOwner, key: string): Promise<void> {
    await this.database.db.delete(idempotencyKeys).where(and(this.where(owner, key), eq(idempotencyKeys.status, 'in_progress')));
  }

  /** Removes the key if it is older than its retention, before it is claimed again (one statement: no race with a fresh claim). */
  async expire(owner: KeyOwner, key: string, createdBefore: Date): Promise<void> {
    await this.database.db.delete(idempotencyKeys).where(and(this.where(owner, key), lt(idempotencyKeys.createdAt, createdBefore)));
  }

  private where(owner: KeyOwner, key: string) {
    return and(eq(idempotencyKeys.tenant, owner.tenant), eq(idempotencyKeys.subject, owner.subject), eq(idempotencyKeys.key, key));
  }
}
