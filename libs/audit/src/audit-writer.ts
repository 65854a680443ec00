import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';
import { DatabaseService } from '@platform/database';
import { PlatformMetrics } from '@platform/observability';
import { canonicalAuditContent } from './audit-chain';
import { AuditJournal } from './audit-journal';
import { AuditWal, type WalEntry } from './audit-wal';
import { AuditRepository } from './audit.repository';
import { settledWithin } from './settled-within';
import type { NewAuditRow } from './audit.schema';

/** A request waiting until its record is durable; with `recordJournalled`, also its write-ahead log entry. */
interface Waiter extends Partial<WalEntry> {
  resolve: () => void;
  /**
   * The record's canonical content (`canonicalAuditContent`), built once when it was written to the
   * write-ahead log and reused by the chain insert; built again when the record is changed afterwards.
   */
  content?: string;
}

const noop = (): void => undefined;

/** Journal batches replayed per flush before queued records get their turn. */
const REPLAY_BATCHES_PER_FLUSH = 20;

/**
 * SQLSTATE classes that mean "this record cannot be stored" rather than "the database is
 * unreachable": 22 data exception, 54 program limit exceeded (e.g. an index row too large).
 * Retrying such a batch would block the trail forever; its bad records are set aside instead.
 */
const DATA_ERROR_CLASSES = new Set(['22', '54']);

function sqlstateOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  return code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Writes audit records off the request path, losing none.
 *
 * `record()` only appends to an in-memory queue. One flush runs at a time (so records keep their
 * order), triggered by a timer (`AUDIT_FLUSH_INTERVAL_MS`) or a full batch (`AUDIT_BATCH_SIZE`):
 *
 * - target `database`: each batch is appended to the hash chain in one transaction. When that
 *   fails or takes longer than `AUDIT_WRITE_TIMEOUT_MS`, or when the queue grows past half of
 *   `AUDIT_QUEUE_LIMIT` (the database is falling behind), the queue goes to the local journal
 *   (fsynced) and the target becomes `journal`.
 * - target `journal`: queued records are appended to the journal, and every
 *   `AUDIT_REPLAY_INTERVAL_MS` the journal is replayed into the database from where the last
 *   replay stopped, batch by batch (records the database already holds are skipped by
 *   `recordId`). At its end the journal is emptied and the target is `database` again; records
 *   that arrived meanwhile are queued behind it, so this instance's records keep their order.
 *
 * A record the database refuses as data (SQLSTATE class 22 or 54) is isolated by splitting its
 * batch, set aside in `audit-rejected.ndjson` beside the journal, counted and logged: it cannot
 * block the trail. A journal left by an earlier process is replayed at start. Shutdown stops
 * replaying, waits for the running flush, and writes every queued record to the database or the
 * journal before the database closes. Records are dropped only when the queue passes
 * `AUDIT_QUEUE_LIMIT` because the journal cannot be written either, with an error log line and
 * `platform_audit_records_dropped_total`.
 */
@Injectable()
export class AuditWriter implements OnModuleInit {
  private readonly logger = new Logger(AuditWriter.name);
  private readonly journal: AuditJournal;
  /** Write-ahead log of `AUDIT_DURABILITY=journal` (segments beside the journal). */
  readonly wal: AuditWal;
  private queue: NewAuditRow[] = [];
  private mode: 'database' | 'journal' = 'database';
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** The one flush queued behind the running one; more callers share it. */
  private next?: Promise<void>;
  private nextReplayAt = 0;
  /** Byte offset of the first journal record not yet replayed. */
  private replayOffset = 0;
  /** A write that timed out and may still be running: no replay starts until it settles. */
  private abandoned?: Promise<unknown>;
  /** Shutdown has begun: no more replays, flushes go on until the queue is empty. */
  private closing = false;
  /** Shutdown is over: a late record goes straight to the journal. */
  private closed = false;
  private droppedTotal = 0;
  private readonly listeners = new Set<(row: NewAuditRow) => void>();
  /** Records whose request waits until they are durable (`recordDurably`, `recordJournalled`): resolver and content. */
  private readonly waiting = new Map<NewAuditRow, Waiter>();
  /** The content of a record still waiting (`recordJournalled`), or undefined: the chain insert builds it then. */
  private readonly contentOf = (row: NewAuditRow): string | undefined => this.waiting.get(row)?.content;
  /** Committed domain events may wait in `audit_outbox` (true at start: a crash may have left some). */
  private outboxPending = true;
  private readonly targetListeners = new Set<(target: 'database' | 'journal') => void>();

  constructor(
    private readonly config: PlatformConfig,
    private readonly repository: AuditRepository,
    private readonly database: DatabaseService,
    private readonly metrics: PlatformMetrics,
  ) {
    this.journal = new AuditJournal(config.audit.journalDir);
    this.wal = new AuditWal(config.audit.journalDir);
  }

  async onModuleInit(): Promise<void> {
    const torn = await this.journal.open();
    if (torn > 0) this.dropped(torn, 'a journal line was torn by a crash of the previous run');
    await this.adoptWalLeftovers();
    await this.repository.connect();
    this.database.beforeClose(() => this.drain());
    this.metrics.trackAuditQueue(() => ({ queued: this.queue.length, journalled: this.journal.records }));
    if (this.journal.pending) {
      this.mode = 'journal';
      this.logger.warn(
        { journal: this.journal.file, records: this.journal.records },
        'Audit journal left by an earlier run: replaying it',
      );
    }
    // Replays the journal, and moves domain events an earlier run committed but did not chain.
    void this.flush();
  }

  /**
   * Calls `listener` with every record as it is queued, and with every domain event of
   * `audit_outbox` as it is moved into the chain (tests, tooling); returns the unsubscribe function.
   */
  subscribe(listener: (row: NewAuditRow) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` each time records start going to the journal or back to the database; returns the unsubscribe function. */
  onTargetChange(listener: (target: 'database' | 'journal') => void): () => void {
    this.targetListeners.add(listener);
    return () => this.targetListeners.delete(listener);
  }

  /** Queues one record. Never throws, never waits. */
  record(row: NewAuditRow): void {
    if (this.listeners.size > 0) for (const listener of this.listeners) listener(row);
    if (this.closed) {
      this.lateRecord(row);
      this.settle([row]);
      return;
    }
    this.queue.push(row);
    if (this.queue.length > this.config.audit.queueLimit) {
      // Reachable only while a flush is stuck on the journal's disk: memory stays bounded.
      this.settle([this.queue.shift() as NewAuditRow], false);
      this.dropped(1, 'the queue is full (AUDIT_QUEUE_LIMIT) and the journal does not take records');
    }
    if (this.queue.length >= this.config.audit.batchSize) {
      if (!this.running) void this.flush();
    } else {
      this.timer ??= setTimeout(() => void this.flush(), this.config.audit.flushIntervalMs).unref();
    }
  }

  /**
   * Queues one record and resolves once it is durable: committed to the database or fsynced in
   * the journal (or, should neither take it, dropped and counted). Group commit: every record
   * queued while a write runs goes into the next one, so concurrent callers share one transaction
   * or one fsync. Never rejects.
   */
  recordDurably(row: NewAuditRow): Promise<void> {
    const done = new Promise<void>((resolve) => this.waiting.set(row, { resolve }));
    this.record(row);
    if (this.waiting.has(row)) void this.flush();
    return done;
  }

  /**
   * Queues one record (written to the database in batches, as {@link record}) and resolves once it
   * is fsynced in the write-ahead log (`AUDIT_DURABILITY=journal`; group commit: one
   * write+fdatasync for every record appended meanwhile). When the log cannot be written, resolves
   * once the record is committed or in the journal instead ({@link recordDurably}). Never rejects.
   */
  recordJournalled(row: NewAuditRow): Promise<void> {
    // One serialization: the log line is the canonical content the chain hashes and inserts.
    const content = canonicalAuditContent(row);
    // One object per record: the request's waiter, the content cache and the log's entry.
    const waiter: Waiter & WalEntry = { resolve: noop, content, line: content };
    const stored = new Promise<void>((resolve) => (waiter.resolve = resolve));
    this.waiting.set(row, waiter);
    this.record(row);
    if (!this.waiting.has(row)) return stored;
    return this.wal.append(waiter).then(
      () => undefined,
      (err: Error) => {
        this.logger.error({ err }, 'Audit write-ahead log write failed: the response waits for the database');
        if (this.waiting.has(row)) void this.flush();
        return stored;
      },
    );
  }

  /**
   * Segments of the write-ahead log left by an earlier run (a crash): their records go into the
   * journal (fsynced), which is replayed into the database in order, records it already holds
   * skipped by `recordId`; then the segments are deleted.
   */
  private async adoptWalLeftovers(): Promise<void> {
    const { rows, files, unreadable } = await this.wal.leftovers();
    if (unreadable > 0) this.dropped(unreadable, 'a write-ahead log line was torn by a crash of the previous run');
    if (files.length === 0) return;
    for (let i = 0; i < rows.length; i += 1000) await this.journal.append(rows.slice(i, i + 1000));
    await this.wal.removeLeftovers(files);
    this.logger.warn(
      { segments: files.length, records: rows.length },
      'Audit write-ahead log left by an earlier run: its records are replayed through the journal',
    );
  }

  /**
   * A domain event was written to `audit_outbox` in a transaction that may commit: the next flush
   * (at the latest `AUDIT_FLUSH_INTERVAL_MS` from now) moves it into the chain.
   */
  outboxWritten(): void {
    this.outboxPending = true;
    if (this.closed || this.closing) return;
    this.timer ??= setTimeout(() => void this.flush(), this.config.audit.flushIntervalMs).unref();
  }

  /** Resolves the waiters of records that are now durable, or dropped. */
  private settle(rows: NewAuditRow[], stored = true): void {
    if (this.waiting.size === 0) return;
    for (const row of rows) {
      const waiter = this.waiting.get(row);
      if (waiter) {
        this.waiting.delete(row);
        // In the database or the journal: the write-ahead log need not keep it. A dropped record stays
        // in its segment, replayed at the next start.
        if (stored && waiter.line !== undefined) this.wal.release(waiter as WalEntry);
        waiter.resolve();
      }
    }
  }

  /**
   * `row`, queued and not yet durable, was changed (the 503 a client got instead): its content is
   * built again, for the chain insert and, while its write-ahead log line is not written yet, for
   * that line too (a crash then replays what the client was told, as before the line was prebuilt).
   */
  amended(row: NewAuditRow): void {
    const waiter = this.waiting.get(row);
    if (!waiter) return;
    const content = canonicalAuditContent(row);
    waiter.content = content;
    const entry = waiter as Partial<WalEntry>;
    if (entry.line !== undefined && entry.walSegment === undefined) entry.line = content;
  }

  /** Number of records waiting in memory. */
  get pending(): number {
    return this.queue.length;
  }

  /** Where records go now: `database`, or `journal` while the database is unreachable or behind. */
  get target(): 'database' | 'journal' {
    return this.mode;
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
   * Shutdown, before the database closes: stops replaying, then flushes until the queue is empty
   * (into the database, or the journal when it is down), tries once to replay the journal, and
   * reports what stays in it for the next start. Each flush is bounded by `AUDIT_WRITE_TIMEOUT_MS`.
   */
  async drain(): Promise<void> {
    this.closing = true;
    const flushQueue = async () => {
      for (let attempt = 0; attempt < 3 && (this.running || this.queue.length > 0); attempt++) await this.flush();
    };
    await flushQueue();
    // Journalled after a slow write or a pause (the database may be fine again): one replay
    // attempt (up to REPLAY_BATCHES_PER_FLUSH batches), so a clean stop after a short spill leaves
    // nothing for the next start. An abandoned write that may
    // still commit is waited for first (at most one write timeout), as replay does at run time;
    // a failed attempt keeps the journal. Records of requests finishing meanwhile are flushed after.
    if (this.mode === 'journal' && this.journal.pending && !this.running) {
      if (this.abandoned) await settledWithin(this.abandoned, this.config.audit.writeTimeoutMs);
      if (!this.abandoned && !this.running) {
        // As the running flush: a flush a finishing request starts meanwhile (recordDurably) waits
        // behind it instead of appending to the journal the replay is about to clear.
        const replaying = this.replay().finally(() => {
          if (this.running === replaying) this.running = undefined;
        });
        this.running = replaying;
        await replaying;
      }
      await flushQueue();
    }
    if (this.queue.length > 0) {
      const lost = this.queue.splice(0);
      this.settle(lost, false);
      this.dropped(lost.length, 'neither the database nor the journal took them before shutdown');
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.journal.pending) {
      this.logger.warn(
        { journal: this.journal.file, records: this.journal.records },
        'Audit records kept in the journal: they are replayed at the next start',
      );
    }
    await this.wal.close();
    await this.journal.close();
  }

  private setTarget(target: 'database' | 'journal'): void {
    if (this.mode === target) return;
    this.mode = target;
    for (const listener of this.targetListeners) listener(target);
  }

  private schedule(): void {
    if (this.closing || this.timer) return;
    if (this.queue.length > 0 || (this.outboxPending && this.mode === 'database')) {
      this.timer = setTimeout(() => void this.flush(), this.config.audit.flushIntervalMs).unref();
    } else if (this.mode === 'journal') {
      this.timer = setTimeout(() => void this.flush(), Math.max(0, this.nextReplayAt - Date.now())).unref();
    }
  }

  private async writeQueued(): Promise<void> {
    if (this.mode === 'journal') {
      await this.spill(this.queue.splice(0));
      if (!this.closing && !this.abandoned && Date.now() >= this.nextReplayAt) await this.replay();
      if (this.mode === 'journal') return;
    }
    while (this.queue.length > 0 || this.outboxPending) {
      if (this.queue.length > this.config.audit.queueLimit / 2) {
        this.logger.warn(
          { queued: this.queue.length },
          'Audit writes are falling behind: queued records go to the local journal and are replayed',
        );
        this.toJournal(0);
        await this.spill(this.queue.splice(0));
        return;
      }
      const batch = this.queue.splice(0, this.config.audit.batchSize);
      // Cleared before the write: an event committed while it runs sets it again.
      this.outboxPending = false;
      try {
        await this.append(batch, 'queue', this.config.audit.batchSize);
        this.settle(batch);
      } catch (err) {
        // The outbox rows were not moved (same transaction): they wait for the database.
        this.outboxPending = true;
        this.metrics.auditWriteFailures.inc();
        this.logger.error(
          { err, records: batch.length + this.queue.length },
          'Audit write failed: records go to the local journal until the database is back',
        );
        this.toJournal(this.config.audit.replayIntervalMs);
        await this.spill(batch.concat(this.queue.splice(0)));
        return;
      }
    }
  }

  private toJournal(replayInMs: number): void {
    this.nextReplayAt = Date.now() + replayInMs;
    this.setTarget('journal');
  }

  /**
   * Appends rows to the chain. A batch refused as data is split until the refused records are
   * alone; those are set aside (never retried), the others written in order. When the batch also
   * moved outbox events, `rows` are retried without them first, then the events one at a time
   * ({@link moveOutboxOneByOne}): a refused event is set aside, never an innocent record with it.
   *
   * @returns the number of records inserted
   * @throws when the database is unreachable or too slow (the caller journals the rows)
   */
  private async append(rows: NewAuditRow[], source: 'queue' | 'journal', outbox = 0): Promise<number> {
    if (rows.length === 0 && outbox === 0) return 0;
    try {
      // Queued records were never written; journalled ones may have been (a late commit, a replay cut short).
      const { inserted, moved } = await this.withTimeout(
        this.repository.appendChained(rows, {
          timeoutMs: this.config.audit.writeTimeoutMs,
          mayBeStored: source === 'journal',
          outbox,
          contentOf: this.contentOf,
        }),
      );
      const fromOutbox = moved.length;
      // A full take: more events may wait.
      if (outbox > 0 && fromOutbox >= outbox) this.outboxPending = true;
      // Outbox records were never queued here: listeners see them as they enter the chain.
      if (this.listeners.size > 0) for (const row of moved) for (const listener of this.listeners) listener(row);
      this.metrics.auditBatches.labels(source).inc();
      this.metrics.auditRecords.inc(inserted);
      return inserted - fromOutbox;
    } catch (err) {
      const sqlstate = sqlstateOf(err);
      if (!sqlstate || !DATA_ERROR_CLASSES.has(sqlstate.slice(0, 2))) throw err;
      if (outbox > 0) {
        // The refused record may be one of ours or an outbox event: ours go first (split as
        // needed), then the outbox events one at a time, a refused one set aside.
        const inserted = await this.append(rows, source);
        await this.moveOutboxOneByOne(source, outbox);
        return inserted;
      }
      if (rows.length === 1) {
        this.setAside(rows[0], sqlstate);
        return 0;
      }
      const middle = rows.length >> 1;
      return (await this.append(rows.slice(0, middle), source)) + (await this.append(rows.slice(middle), source));
    }
  }

  /** Keeps a record the database refused as data in the rejected file, counted and logged: it is never retried. */
  private setAside(row: NewAuditRow, sqlstate: string): void {
    this.journal.reject(row, sqlstate);
    this.metrics.auditRejected.inc();
    this.logger.error(
      { recordId: row.recordId, requestId: row.requestId, sqlstate },
      `Audit record refused by the database; kept in ${this.journal.rejectedFile}`,
    );
  }

  /**
   * Moves up to `max` outbox events into the chain one per transaction, after a batch with them
   * was refused as data: an event refused alone is taken out of the outbox and set aside, so it
   * cannot fail the next flush too. More events may wait afterwards (the next flush looks).
   *
   * @throws when the database is unreachable or too slow (the events stay in the outbox)
   */
  private async moveOutboxOneByOne(source: 'queue' | 'journal', max: number): Promise<void> {
    this.outboxPending = true;
    for (let i = 0; i < max; i++) {
      try {
        const { moved } = await this.withTimeout(
          this.repository.appendChained([], {
            timeoutMs: this.config.audit.writeTimeoutMs,
            mayBeStored: false,
            outbox: 1,
          }),
        );
        if (moved.length === 0) return;
        if (this.listeners.size > 0) for (const row of moved) for (const listener of this.listeners) listener(row);
        this.metrics.auditBatches.labels(source).inc();
        this.metrics.auditRecords.inc(moved.length);
      } catch (err) {
        const sqlstate = sqlstateOf(err);
        if (!sqlstate || !DATA_ERROR_CLASSES.has(sqlstate.slice(0, 2))) throw err;
        const refused = await this.withTimeout(
          this.repository.takeOldestOutboxRecord(this.config.audit.writeTimeoutMs),
        );
        if (refused) this.setAside(refused, sqlstate);
      }
    }
  }

  /** Appends records to the journal; if even that fails, they go back to the front of the queue (bounded). */
  private async spill(rows: NewAuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.journal.append(rows);
      this.metrics.auditJournalSpills.inc(rows.length);
      this.settle(rows);
    } catch (err) {
      this.logger.error({ err, records: rows.length }, 'Audit journal write failed: records stay in memory');
      this.queue = rows.concat(this.queue);
      const excess = this.queue.length - this.config.audit.queueLimit;
      if (excess > 0) {
        const lost = this.queue.splice(0, excess);
        this.settle(lost, false);
        this.dropped(lost.length, 'the queue is full (AUDIT_QUEUE_LIMIT) and the journal cannot be written');
      }
    }
  }

  /**
   * Replays the journal into the database from `replayOffset`, at most `REPLAY_BATCHES_PER_FLUSH`
   * batches per flush so queued records keep reaching the journal meanwhile. Once the end is
   * reached, the journal is emptied and the target is `database` again.
   */
  private async replay(): Promise<void> {
    try {
      for (let round = 0; round < REPLAY_BATCHES_PER_FLUSH && this.replayOffset < this.journal.size; round++) {
        const batch = await this.journal.read(this.replayOffset, this.config.audit.batchSize);
        // Counted as inserted: records the database already held (an earlier replay) are skipped.
        this.metrics.auditJournalReplays.inc(await this.append(batch.rows, 'journal'));
        if (batch.corrupt > 0) this.dropped(batch.corrupt, 'unreadable journal lines');
        this.replayOffset = batch.next;
      }
      if (this.replayOffset < this.journal.size) {
        this.nextReplayAt = 0;
        return;
      }
      const replayed = this.journal.records;
      await this.journal.clear();
      this.replayOffset = 0;
      this.outboxPending = true;
      this.setTarget('database');
      this.logger.log({ records: replayed }, 'Audit journal replayed into the database');
    } catch (err) {
      this.nextReplayAt = Date.now() + this.config.audit.replayIntervalMs;
      this.logger.warn(
        { err, journalled: this.journal.records },
        'Audit journal replay failed: the database is still unreachable; retrying',
      );
    }
  }

  /**
   * Rejects when `work` takes longer than `AUDIT_WRITE_TIMEOUT_MS`. The database enforces the same
   * limit on its side (statement and lock timeouts), so an abandoned write ends soon; until it
   * does no replay starts, and if it commits after all, replay skips its records by `recordId`.
   */
  private withTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const abandoned = work
          .catch(() => undefined)
          .finally(() => {
            if (this.abandoned === abandoned) this.abandoned = undefined;
          });
        this.abandoned = abandoned;
        reject(new Error(`audit write took longer than ${this.config.audit.writeTimeoutMs} ms`));
      }, this.config.audit.writeTimeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private lateRecord(row: NewAuditRow): void {
    try {
      this.journal.appendSync([row]);
      this.metrics.auditJournalSpills.inc();
    } catch (err) {
      this.dropped(1, 'the journal cannot be written after shutdown', err as Error);
    }
  }

  private dropped(count: number, why: string, err?: Error): void {
    this.metrics.auditDropped.inc(count);
    // One line per thousand drops: a full queue must not also flood the log.
    const before = this.droppedTotal;
    this.droppedTotal += count;
    if (before === 0 || Math.floor(before / 1000) !== Math.floor(this.droppedTotal / 1000)) {
      this.logger.error({ err, dropped: count, droppedTotal: this.droppedTotal }, `Audit records dropped: ${why}`);
    }
  }
}
