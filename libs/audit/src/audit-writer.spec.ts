import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePlatformConfig } from '@platform/config';
import type { DatabaseService } from '@platform/database';
import { PlatformMetrics } from '@platform/observability';
import { canonicalAuditContent } from './audit-chain';
import { AuditWriter } from './audit-writer';
import type { AuditRepository } from './audit.repository';
import { sampleAccessRow } from './audit-row.testing';
import type { NewAuditRow } from './audit.schema';

const row = (n: number): NewAuditRow => sampleAccessRow(n, { decision: 'allow', details: { b: 1, a: 'x' } });

describe('AuditWriter', () => {
  let dir: string;
  let writer: AuditWriter;
  /** Per chain append: what `contentOf` gave for each record (undefined: the repository builds it). */
  let given: Array<Array<string | undefined>>;
  /** Request ids the repository stored, in order. */
  let stored: string[];
  /** Appends to refuse as unreachable (a connection error, not data) before accepting again. */
  let outages: number;
  /** Runs once at the next accepted append (a request finishing while a write runs). */
  let duringNextAppend: (() => void) | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'writer-spec-'));
    given = [];
    stored = [];
    outages = 0;
    duringNextAppend = undefined;
    const repository = {
      connect: async () => undefined,
      appendChained: async (rows: NewAuditRow[], options: { contentOf?: (row: NewAuditRow) => string | undefined }) => {
        if (outages > 0) {
          outages--;
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        }
        if (rows.length > 0) given.push(rows.map((r) => options.contentOf?.(r)));
        stored.push(...rows.map((r) => r.requestId));
        const during = duringNextAppend;
        duringNextAppend = undefined;
        during?.();
        return { inserted: rows.length, moved: [] };
      },
    };
    const config = parsePlatformConfig({ NODE_ENV: 'test', DATA_DIR: dir, AUDIT_FLUSH_INTERVAL_MS: '60000' });
    const database = { beforeClose: () => undefined };
    writer = new AuditWriter(
      config,
      repository as unknown as AuditRepository,
      database as unknown as DatabaseService,
      new PlatformMetrics(),
    );
    await writer.onModuleInit();
  });
  afterEach(async () => {
    await writer.drain();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a journalled record once: the write-ahead log line is the content the chain insert is given', async () => {
    const record = row(1);
    await writer.recordJournalled(record);
    await writer.flush();
    const content = canonicalAuditContent(record);
    expect(given).toEqual([[content]]);
    const segment = readdirSync(writer.wal.dir).find((name) => name.startsWith('audit-wal-')) as string;
    expect(readFileSync(path.join(writer.wal.dir, segment), 'utf8')).toBe(`${content}\n`);
  });

  it('a record amended before its log line is written is logged and inserted as amended; one never logged has no prebuilt content', async () => {
    const changed = row(1);
    const logged = writer.recordJournalled(changed);
    // What audit-hooks' auditUnavailable does while the log write is still pending: the client got a 503.
    changed.status = 503;
    changed.errorReason = 'audit_unavailable';
    writer.amended(changed);
    await logged;
    writer.record(row(2));
    await writer.flush();
    const amended = canonicalAuditContent(changed);
    expect(given).toEqual([[amended, undefined]]);
    // What a crash before the insert would replay: the 503, not the 200 first built.
    const { rows } = await writer.wal.leftovers();
    expect(rows.map((r) => r.status)).toEqual([503]);
  });

  it('releases the log segment of a record once committed: none left at close', async () => {
    const segments = () => readdirSync(writer.wal.dir).filter((name) => name.startsWith('audit-wal-'));
    const committed = row(1);
    await writer.recordJournalled(committed);
    await writer.flush();
    await writer.drain();
    // Committed: nothing to replay, the segment is gone at close.
    expect(segments()).toEqual([]);
  });

  it('a clean stop replays what a failed write journalled when the database takes it again: nothing left for the next start', async () => {
    outages = 1;
    writer.record(row(1));
    writer.record(row(2));
    await writer.flush();
    // The write failed: both records are in the journal, the next replay attempt is a second away.
    expect(writer.target).toBe('journal');
    expect(stored).toEqual([]);
    await writer.drain();
    expect(stored).toEqual([row(1).requestId, row(2).requestId]);
    expect(readFileSync(path.join(dir, 'audit-journal', 'audit-journal.ndjson'), 'utf8')).toBe('');
  });

  it('a stop while the database still refuses keeps the journal for the next start', async () => {
    outages = 2;
    writer.record(row(1));
    await writer.flush();
    await writer.drain();
    expect(stored).toEqual([]);
    const kept = readFileSync(path.join(dir, 'audit-journal', 'audit-journal.ndjson'), 'utf8')
      .trim()
      .split('\n');
    expect(kept.map((line) => (JSON.parse(line) as NewAuditRow).requestId)).toEqual([row(1).requestId]);
  });

  it('a record queued while the stop replays the journal is written after it, not dropped', async () => {
    outages = 1;
    writer.record(row(1));
    await writer.flush();
    expect(writer.target).toBe('journal');
    duringNextAppend = () => writer.record(row(2));
    await writer.drain();
    expect(stored).toEqual([row(1).requestId, row(2).requestId]);
    const metrics = await writer['metrics'].exposition();
    expect(metrics.body).not.toMatch(/^platform_audit_records_dropped_total [1-9]/m);
  });

  it('a durable record made while the stop replays the journal is stored, not cleared with the journal', async () => {
    outages = 1;
    writer.record(row(1));
    await writer.flush();
    expect(writer.target).toBe('journal');
    let durable: Promise<void> | undefined;
    duringNextAppend = () => {
      durable = writer.recordDurably(row(2));
    };
    await writer.drain();
    await durable;
    const journal = readFileSync(path.join(dir, 'audit-journal', 'audit-journal.ndjson'), 'utf8');
    const kept = journal.split('\n').filter(Boolean);
    expect([...stored, ...kept.map((line) => (JSON.parse(line) as NewAuditRow).requestId)]).toContain(row(2).requestId);
  });
});
