import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';
import { DatabaseService } from '@platform/database';
import { AuditRepository } from './audit.repository';
import type { NewAuditRow } from './audit.schema';

/** Records kept in memory at most while the database refuses writes; beyond it the oldest are dropped, loudly. */
export const AUDIT_QUEUE_LIMIT = 100_000;

/**
 * Writes audit records off the request path: `record()` only appends to an in-memory queue; a
 * timer (`AUDIT_FLUSH_INTERVAL_MS`) or a full batch (`AUDIT_BATCH_SIZE`) triggers one multi-row
 * INSERT. One flush runs at a time, so rows land in arrival order. A failed batch goes back to the
 * front of the queue and is retried on the next tick. Shutdown flushes everything before the
 * database closes.
 */
@Injectable()
export class AuditWriter implements OnModuleInit {
  private readonly logger = new Logger(AuditWriter.name);
  private queue: NewAuditRow[] = [];
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** The one flush queued behind the running one; more callers share it. */
  private next?: Promise<void>;
  private dropped = 0;
  private closed = false;
  private readonly listeners = new Set<(row: NewAuditRow) => void>();

  constructor(
    private readonly config: PlatformConfig,
    private readonly repository: AuditRepository,
    private readonly database: DatabaseService,
  ) {}

  onModuleInit(): void {
    this.database.beforeClose(() => this.drain());
  }

  /** Calls `listener` with every record as it is queued; returns the unsubscribe function. */
  subscribe(listener: (row: NewAuditRow) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues one record. Never throws, never waits. */
  record(row: NewAuditRow): void {
    this.queue.push(row);
    for (const listener of this.listeners) listener(row);
    if (this.queue.length > AUDIT_QUEUE_LIMIT) {
      this.queue.shift();
      if (this.dropped++ % 1000 === 0) this.logger.error({ dropped: this.dropped }, 'Audit queue full: oldest records dropped');
    }
    if (this.closed) {
      this.logger.error({ requestId: row.requestId }, 'Audit record after shutdown drain: it cannot be written');
      return;
    }
    if (this.queue.length >= this.config.audit.batchSize) {
      if (!this.running) void this.flush();
    } else {
      this.timer ??= setTimeout(() => void this.flush(), this.config.audit.flushIntervalMs).unref();
    }
  }

  /** Number of records waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Writes what is queued now; resolves when it is in the database (or the attempt failed and the
   * rows were requeued). At most one flush runs and at most one waits behind it, whatever the
   * number of callers, so a database outage never piles up work per request.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.running) {
      this.running = this.writeQueued().finally(() => (this.running = undefined));
      return this.running;
    }
    this.next ??= this.running.then(() => {
      this.next = undefined;
      return this.flush();
    });
    return this.next;
  }

  /** Flushes until the queue is empty, the database keeps failing, or `deadlineMs` passes (shutdown). */
  async drain(deadlineMs = 10_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 0; this.queue.length > 0 && attempt < 5 && Date.now() < deadline; attempt++) {
      await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
    }
    if (this.timer) clearTimeout(this.timer);
    this.closed = true;
    if (this.queue.length > 0) this.logger.error({ lost: this.queue.length }, 'Audit records could not be written before shutdown');
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.config.audit.batchSize);
      try {
        await this.repository.insertMany(batch);
      } catch (err) {
        this.queue.unshift(...batch);
        this.logger.error({ err, pending: this.queue.length }, 'Audit batch write failed; will retry');
        if (!this.closed) this.timer ??= setTimeout(() => void this.flush(), Math.max(this.config.audit.flushIntervalMs, 1000)).unref();
        return;
      }
    }
  }
}
