import { appendFileSync, createReadStream, mkdirSync } from 'node:fs';
import { open, truncate, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { lockFolder } from '@platform/database';
import type { NewAuditRow } from './audit.schema';

/** One read of the journal: parsed records, the offset after them, and lines that could not be parsed. */
export interface JournalBatch {
  rows: NewAuditRow[];
  /** Byte offset of the first line not returned. */
  next: number;
  /** Unreadable lines skipped (a torn write at a crash). */
  corrupt: number;
}

const READ_CHUNK_BYTES = 1024 * 1024;

function reviveRow(line: string): NewAuditRow {
  const row = JSON.parse(line) as NewAuditRow & { occurredAt: string };
  if (typeof row.recordId !== 'string' || typeof row.occurredAt !== 'string') throw new Error('not an audit record');
  return { ...row, occurredAt: new Date(row.occurredAt) };
}

/**
 * The local append-only file that keeps audit records while the database cannot take them
 * (`<dir>/audit-journal.ndjson`, one JSON record per line, fsynced after each append). Replay reads
 * it from the start in batches; the database skips records it already holds (by `recordId`), so a
 * replay interrupted by a crash is simply run again. Emptied once fully replayed. The folder is
 * locked to one process.
 */
export class AuditJournal {
  readonly file: string;
  private handle?: FileHandle;
  private release?: () => void;
  private bytes = 0;
  /** Records appended and not yet replayed (counted at open for a journal left by an earlier run). */
  records = 0;
  /** Records kept aside because the database refused them as data (`audit-rejected.ndjson`). */
  readonly rejectedFile: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'audit-journal.ndjson');
    this.rejectedFile = path.join(dir, 'audit-rejected.ndjson');
  }

  /**
   * Locks the folder and measures what an earlier run left. A last line without its newline (a
   * write torn by a crash) is cut off, so the next append starts on a line of its own.
   *
   * @returns the number of torn lines cut off (0 or 1): records lost to the crash
   * @throws Error when another process holds the folder
   */
  async open(): Promise<number> {
    mkdirSync(this.dir, { recursive: true });
    this.release = lockFolder(this.dir);
    this.handle = await open(this.file, 'a+');
    this.bytes = (await this.handle.stat()).size;
    let torn = 0;
    if (this.bytes > 0) {
      const end = await this.lastNewlineEnd();
      if (end < this.bytes) {
        await this.handle.truncate(end);
        this.bytes = end;
        torn = 1;
      }
    }
    this.records = this.bytes === 0 ? 0 : await countLines(this.file);
    return torn;
  }

  /** Byte offset just after the file's last newline (0 when it has none). */
  private async lastNewlineEnd(): Promise<number> {
    const reader = await open(this.file, 'r');
    try {
      const chunk = Buffer.alloc(64 * 1024);
      for (let end = this.bytes; end > 0;) {
        const start = Math.max(0, end - chunk.length);
        const { bytesRead } = await reader.read(chunk, 0, end - start, start);
        const nl = chunk.subarray(0, bytesRead).lastIndexOf(10);
        if (nl !== -1) return start + nl + 1;
        end = start;
      }
      return 0;
    } finally {
      await reader.close();
    }
  }

  /** True when records wait for replay. */
  get pending(): boolean {
    return this.bytes > 0;
  }

  /**
   * Appends records in order and waits until they are on disk (fdatasync). All or nothing: after
   * a failed or partial write the file is cut back to its previous size.
   *
   * @throws the file system's error (disk full, ...)
   */
  async append(rows: NewAuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    const handle = this.handle ?? (this.handle = await open(this.file, 'a+'));
    const text = rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
    const before = this.bytes;
    try {
      await handle.write(text);
      await handle.datasync();
    } catch (err) {
      await handle.truncate(before).catch(() => undefined);
      throw err;
    }
    this.bytes = before + Buffer.byteLength(text);
    this.records += rows.length;
  }

  /** Keeps a record the database refused as data, with the SQLSTATE, for an operator to inspect (never replayed). */
  reject(row: NewAuditRow, sqlstate: string | undefined): void {
    appendFileSync(this.rejectedFile, JSON.stringify({ sqlstate, record: row }) + '\n');
  }

  /** Synchronous append, for the last records of a process that is already shutting down. */
  appendSync(rows: NewAuditRow[]): void {
    const text = rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
    appendFileSync(this.file, text);
    this.bytes += Buffer.byteLength(text);
    this.records += rows.length;
  }

  /**
   * Up to `max` records starting at byte `offset` (0 for the start). A line without its newline at
   * the end of the file (a write torn by a crash) counts as corrupt and is passed over.
   */
  async read(offset: number, max: number): Promise<JournalBatch> {
    const rows: NewAuditRow[] = [];
    let corrupt = 0;
    let position = offset;
    const reader = await open(this.file, 'r');
    try {
      let pending = Buffer.alloc(0);
      let readAt = offset;
      while (rows.length < max && readAt < this.bytes) {
        const chunk = Buffer.alloc(Math.min(READ_CHUNK_BYTES, this.bytes - readAt));
        const { bytesRead } = await reader.read(chunk, 0, chunk.length, readAt);
        if (bytesRead === 0) break;
        readAt += bytesRead;
        pending = pending.length
          ? Buffer.concat([pending, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
        let start = 0;
        for (let nl = pending.indexOf(10); nl !== -1 && rows.length < max; nl = pending.indexOf(10, start)) {
          const line = pending.toString('utf8', start, nl);
          start = nl + 1;
          if (line.trim() === '') continue;
          try {
            rows.push(reviveRow(line));
          } catch {
            corrupt++;
          }
        }
        position += start;
        pending = pending.subarray(start);
        if (readAt >= this.bytes && pending.length > 0 && rows.length < max) {
          corrupt++;
          position += pending.length;
        }
      }
    } finally {
      await reader.close();
    }
    return { rows, next: position, corrupt };
  }

  /** Empties the journal after a complete replay. */
  async clear(): Promise<void> {
    await truncate(this.file, 0);
    this.bytes = 0;
    this.records = 0;
  }

  /** Byte size of the journal. */
  get size(): number {
    return this.bytes;
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    this.release?.();
    this.release = undefined;
  }
}

function countLines(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let count = 0;
    createReadStream(file)
      .on('data', (chunk: Buffer | string) => {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        for (let i = buffer.indexOf(10); i !== -1; i = buffer.indexOf(10, i + 1)) count++;
      })
      .on('end', () => resolve(count))
      .on('error', reject);
  });
}
