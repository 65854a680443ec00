import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';
import { DatabaseService } from '@platform/database';
import { PlatformMetrics } from '@platform/observability';
import { AuditJournal } from './audit-journal';
import { AuditRepository } from './audit.repository';
import type { NewAuditRow } from './audit.schema';

/** Journal batches replayed per flush before queued records get their turn. */
const REPLAY_BATCHES_PER_FLUSH = 20;

/**
 * Writes audit records off the request path, losing none.
 *
 * `record()` only appends to an in-memory queue. One flush runs at a time (so records keep their
 * order), triggered by a timer (`AUDIT_FLUSH_INTERVAL_MS`) or a full batch (`AUDIT_BATCH_SIZE`):
 *
 * - `database` mode: the batch is appended to the hash chain in one transaction. When that fails or
 *   takes longer than `AUDIT_WRITE_TIMEOUT_MS`, the batch and everything queued behind it go to the
 *   local journal (fsynced) and the writer enters `journal` mode.
 * - `journal` mode: queued records are appended to the journal, and every
 *   `AUDIT_REPLAY_INTERVAL_MS` the journal is replayed into the database from its start, batch by
 *   batch (records the database already holds are skipped by `recordId`). Once replayed to the
 *   end, the journal is emptied and the writer returns to `database` mode; records that arrived
 *   meanwhile are still queued behind it, so order holds.
 *
 * A journal left by an earlier process (crash, or shutdown during an outage) is replayed at start.
 * Shutdown flushes everything (to the database, or to the journal) before the database closes.
 * The queue is bounded (`AUDIT_QUEUE_LIMIT`): only when the journal cannot be written either are
 * the oldest records dropped, with an error log line and `platform_audit_records_dropped_total`.
 */
@Injectable()
export class AuditWriter implements OnModuleInit {
  private readonly logger = new Logger(AuditWriter.name);
  private readonly journal: AuditJournal;
  private queue: NewAuditRow[] = [];
  private mode: 'database' | 'journal' = 'database';
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** The one flush queued behind the running one; more callers share it. */
  private next?: Promise<void>;
  private nextReplayAt = 0;
  /** Byte offset of the first journal record not yet replayed. */
  private replayOffset = 0;
  private closed = false;
  private droppedTotal = 0;
  private readonly listeners = new Set<(row: NewAuditRow) => void>();
  private readonly targetListeners = new Set<(target: 'database' | 'journal') => void>();

  constructor(
    private readonly config: PlatformConfig,
    private readonly repository: AuditRepository,
    private readonly database: DatabaseService,
    private readonly metrics: PlatformMetrics,
  ) {
    this.journal = new AuditJournal(config.audit.journalDir);
  }

  async onModuleInit(): Promise<void> {
    await this.journal.open();
    this.database.beforeClose(() => this.drain());
    this.metrics.trackAuditQueue(() => ({ queued: this.queue.length, journalled: this.journal.records }));
    if (this.journal.pending) {
      this.mode = 'journal';
      this.logger.warn({ journal: this.journal.file, records: this.journal.records }, 'Audit journal left by an earlier run: replaying it');
      void this.flush();
    }
  }

  /** Calls `listener` with every record as it is queued; returns the unsubscribe function. */
  subscribe(listener: (row: NewAuditRow) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` each time records start going to the journal or back to the database; returns the unsubscribe function. */
  onTargetChange(listener: (target: 'database' | 'journal') => void): () => void {
    this.targetListeners.add(listener);
    return () => this.targetListeners.delete(listener);
  }

  private setTarget(target: 'database' | 'journal'): void {
    if (this.mode === target) return;
    this.mode = target;
    for (const listener of this.targetListeners) listener(target);
  }

  /** Queues one record. Never throws, never waits. */
  record(row: NewAuditRow): void {
    for (const listener of this.listeners) listener(row);
    if (this.closed) {
      // Shutdown already drained: straight to disk, replayed at the next start.
      try {
        this.journal.appendSync([row]);
        this.metrics.auditJournalSpills.inc();
      } catch (err) {
        this.dropped(1, 'the journal cannot be written after shutdown', err as Error);
      }
      return;
    }
    this.queue.push(row);
    if (this.queue.length > this.config.audit.queueLimit) {
      // Only reachable when neither the database nor the journal takes records.
      this.queue.shift();
      this.dropped(1, 'the queue is full (AUDIT_QUEUE_LIMIT) and neither the database nor the journal takes records');
    }
    if (this.queue.length >= this.config.audit.batchSize) {
      if (!this.running) void this.flush();
    } else {
      this.timer ??= setTimeout(() => void this.flush(), this.config.audit.flushIntervalMs).unref();
    }
  }

  /** Number of records waiting in memory. */
  get pending(): number {
    return this.queue.length;
  }

  /** Where records go now: `database`, or `journal` while the database is unreachable. */
  get target(): 'database' | 'journal' {
    return this.mode;
  }

  /** Number of records in the journal, waiting for replay. */
  get journalled(): number {
    return this.journal.records;
  }

  /**
   * Writes what is queued now; resolves when it is in the database or, during an outage, in the
   * journal. At most one flush runs and at most one waits behind it, whatever the number of
   * callers, so an outage never piles up work per request.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.running) {
      this.running = this.writeQueued()
        .catch((err: Error) => this.logger.error({ err }, 'Audit flush failed'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
      return this.running;
    }
    this.next ??= this.running.then(() => {
      this.next = undefined;
      return this.flush();
    });
    return this.next;
  }

  /**
   * Shutdown: flushes until the queue is empty (into the database, or the journal when it is
   * down), tries one last replay, and reports what stays in the journal for the next start.
   */
  async drain(deadlineMs = 10_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 0; this.queue.length > 0 && attempt < 5 && Date.now() < deadline; attempt++) {
      await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
    }
    if (this.queue.length > 0) await this.spill(this.queue.splice(0));
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.journal.pending) {
      this.logger.warn({ journal: this.journal.file, records: this.journal.records }, 'Audit records kept in the journal: they are replayed at the next start');
    }
    await this.journal.close();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    if (this.queue.length > 0 || this.mode === 'journal') {
      const delay = this.mode === 'journal' && this.queue.length === 0 ? Math.max(0, this.nextReplayAt - Date.now()) : this.config.audit.flushIntervalMs;
      this.timer = setTimeout(() => void this.flush(), delay).unref();
    }
  }

  private async writeQueued(): Promise<void> {
    if (this.mode === 'journal') {
      await this.spill(this.queue.splice(0));
      if (Date.now() >= this.nextReplayAt) await this.replay();
      if (this.mode === 'journal') return;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.config.audit.batchSize);
      try {
        const inserted = await this.withTimeout(this.repository.appendChained(batch));
        this.metrics.auditBatches.labels('queue').inc();
        this.metrics.auditRecords.inc(inserted);
      } catch (err) {
        this.metrics.auditWriteFailures.inc();
        this.logger.error({ err, records: batch.length + this.queue.length }, 'Audit write failed: records go to the local journal until the database is back');
        this.setTarget('journal');
        this.nextReplayAt = Date.now() + this.config.audit.replayIntervalMs;
        await this.spill([...batch, ...this.queue.splice(0)]);
        return;
      }
    }
  }

  /** Appends records to the journal; if even that fails, they go back to the front of the queue (bounded). */
  private async spill(rows: NewAuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.journal.append(rows);
      this.metrics.auditJournalSpills.inc(rows.length);
    } catch (err) {
      this.logger.error({ err, records: rows.length }, 'Audit journal write failed: records stay in memory');
      this.queue.unshift(...rows);
      const excess = this.queue.length - this.config.audit.queueLimit;
      if (excess > 0) {
        this.queue.splice(0, excess);
        this.dropped(excess, 'the queue is full (AUDIT_QUEUE_LIMIT) and the journal cannot be written');
      }
    }
  }

  /**
   * Replays the journal into the database from `replayOffset`, at most `REPLAY_BATCHES_PER_FLUSH`
   * batches per flush so queued records keep reaching the journal meanwhile. Once the end is
   * reached, the journal is emptied and `database` mode resumes.
   */
  private async replay(): Promise<void> {
    try {
      for (let round = 0; round < REPLAY_BATCHES_PER_FLUSH && this.replayOffset < this.journal.size; round++) {
        const batch = await this.journal.read(this.replayOffset, this.config.audit.batchSize);
        if (batch.corrupt > 0) this.dropped(batch.corrupt, 'unreadable journal lines (a write torn by a crash)');
        // Counted as inserted: records the database already held (an earlier replay) are skipped.
        const inserted = await this.withTimeout(this.repository.appendChained(batch.rows));
        this.metrics.auditBatches.labels('journal').inc();
        this.metrics.auditRecords.inc(inserted);
        this.metrics.auditJournalReplays.inc(inserted);
        this.replayOffset = batch.next;
      }
      if (this.replayOffset < this.journal.size) {
        this.nextReplayAt = 0;
        return;
      }
      const replayed = this.journal.records;
      await this.journal.clear();
      this.replayOffset = 0;
      this.setTarget('database');
      this.logger.log({ records: replayed }, 'Audit journal replayed into the database');
    } catch (err) {
      this.nextReplayAt = Date.now() + this.config.audit.replayIntervalMs;
      this.logger.warn({ err, journalled: this.journal.records }, 'Audit journal replay failed: the database is still unreachable; retrying');
    }
  }

  /** Rejects when `work` takes longer than `AUDIT_WRITE_TIMEOUT_MS` (a hung database); a late commit is deduplicated at replay. */
  private withTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`audit write took longer than ${this.config.audit.writeTimeoutMs} ms`)), this.config.audit.writeTimeoutMs);
    });
    work.catch(() => undefined);
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private dropped(count: number, why: string, err?: Error): void {
    this.metrics.auditDropped.inc(count);
    // One line per thousand drops: a full queue must not also flood the log.
    const before = this.droppedTotal;
    this.droppedTotal += count;
    if (Math.floor(before / 1000) !== Math.floor(this.droppedTotal / 1000) || before === 0) {
      this.logger.error({ err, dropped: count, droppedTotal: this.droppedTotal }, `Audit records dropped: ${why}`);
    }
  }
}
