import {
  appendFileSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalAuditContent, chainHash, GENESIS_HASH } from './audit-chain';
import { AuditWal, type WalEntry } from './audit-wal';
import { sampleAccessRow } from './audit-row.testing';
import type { NewAuditRow } from './audit.schema';

const row = (n: number): NewAuditRow => sampleAccessRow(n);

/** The log entry of a record (one per record, so that releasing it finds what the log noted). */
const entries = new Map<NewAuditRow, WalEntry>();
const entry = (r: NewAuditRow): WalEntry => {
  let e = entries.get(r);
  if (!e) entries.set(r, (e = { line: canonicalAuditContent(r) }));
  return e;
};
const release = (wal: AuditWal, rows: NewAuditRow[]) => rows.forEach((r) => wal.release(entry(r)));

const segmentFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.startsWith('audit-wal-'))
    .sort();

describe('AuditWal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'wal-spec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('group commit: concurrent appends share write+fdatasync calls, and all are readable back in order', async () => {
    const wal = new AuditWal(dir);
    const rows = Array.from({ length: 50 }, (_, i) => row(i));
    await Promise.all(rows.map((r) => wal.append(entry(r))));
    // The first append starts a write alone; the 49 queued meanwhile go into the next one(s).
    expect(wal.syncs).toBeLessThan(rows.length);
    expect(wal.syncs).toBeGreaterThanOrEqual(1);
    const left = await new AuditWal(dir).leftovers();
    expect(left.rows.map((r) => r.recordId)).toEqual(rows.map((r) => r.recordId));
    expect(left.rows[0].occurredAt).toBeInstanceOf(Date);
    await wal.close();
  });

  it('rotates full segments and deletes a closed one once all its records are released', async () => {
    const wal = new AuditWal(dir, 200);
    const first = [row(1), row(2)];
    for (const r of first) await wal.append(entry(r));
    const later = [row(3), row(4)];
    for (const r of later) await wal.append(entry(r));
    expect(segmentFiles(dir).length).toBeGreaterThanOrEqual(3);
    release(wal, first);
    await new Promise((resolve) => setImmediate(resolve));
    // Released segments are gone; the ones holding unreleased records stay.
    const left = await new AuditWal(dir).leftovers();
    expect(left.rows.map((r) => r.recordId)).toEqual(later.map((r) => r.recordId));
    release(wal, later);
    await wal.close();
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('a record released before its fsync does not hold its segment', async () => {
    const wal = new AuditWal(dir);
    const r = row(1);
    const written = wal.append(entry(r));
    release(wal, [r]);
    await written;
    await wal.close();
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('keeps segments with unreleased records at close, and reads them back (a torn last line passed over)', async () => {
    const wal = new AuditWal(dir);
    const rows = [row(1), row(2), row(3)];
    for (const r of rows) await wal.append(entry(r));
    release(wal, [rows[0]]);
    await wal.close();
    const files = segmentFiles(dir);
    expect(files).toHaveLength(1);
    appendFileSync(path.join(dir, files[0]), '{"recordId":"torn');
    const next = new AuditWal(dir);
    const left = await next.leftovers();
    expect(left.rows.map((r) => r.recordId)).toEqual(rows.map((r) => r.recordId));
    expect(left.unreadable).toBe(1);
    await next.removeLeftovers(left.files);
    expect(segmentFiles(dir)).toEqual([]);
    // New segments continue the numbering: never an old name reused.
    await next.append(entry(row(4)));
    expect(segmentFiles(dir)[0] > files[0]).toBe(true);
    await next.close();
  });

  it('opens segments with O_DSYNC: each group commit is one synchronous write, on disk when it returns', async () => {
    const wal = new AuditWal(dir);
    await wal.append(entry(row(1)));
    const file = path.join(dir, segmentFiles(dir)[0]);
    // Linux: the open segment's descriptor and its open flags (octal) as the kernel holds them.
    const fd = readdirSync('/proc/self/fd').find((n) => {
      try {
        return readlinkSync(`/proc/self/fd/${n}`) === file;
      } catch {
        return false;
      }
    });
    expect(fd).toBeDefined();
    const flags = Number.parseInt(/flags:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);
    expect(flags & constants.O_DSYNC).toBe(constants.O_DSYNC);
    expect(wal.syncs).toBe(1);
    await wal.close();
  });

  it('rejects appends after close', async () => {
    const wal = new AuditWal(dir);
    await wal.close();
    await expect(wal.append(entry(row(1)))).rejects.toThrow(/closed/);
  });

  it('writes each entry as its line: the canonical content the caller built once', async () => {
    const wal = new AuditWal(dir);
    const full: NewAuditRow = {
      ...row(1),
      decision: 'allow',
      subject: 'alice',
      details: { b: 1, a: 'x' },
      tenant: null,
    };
    await wal.append(entry(full));
    // A line is written as is (the writer passes the content it built once for the chain too).
    await wal.append({ line: 'GIVEN' });
    await wal.close();
    const lines = readFileSync(path.join(dir, segmentFiles(dir)[0]), 'utf8').split('\n');
    expect(lines).toEqual([canonicalAuditContent(full), 'GIVEN', '']);
  });

  it('reads back segments written as whole records (before canonical lines) and as canonical lines alike', async () => {
    const records = [1, 2].map((n) => ({ ...row(n), subject: 'alice', details: { b: 1, a: 'x' }, tenant: null }));
    // An upgrade after a crash: the older form is JSON.stringify of the whole record, nulls included.
    writeFileSync(path.join(dir, 'audit-wal-000000000001.ndjson'), `${JSON.stringify(records[0])}\n`);
    writeFileSync(path.join(dir, 'audit-wal-000000000002.ndjson'), `${canonicalAuditContent(records[1])}\n`);
    const left = await new AuditWal(dir).leftovers();
    expect(left.unreadable).toBe(0);
    expect(left.rows.map((r) => r.recordId)).toEqual(records.map((r) => r.recordId));
    for (const [i, replayed] of left.rows.entries()) {
      expect(replayed.occurredAt).toEqual(records[i].occurredAt);
      // The same content, so the same link in the chain, whichever form the line had.
      expect(canonicalAuditContent(replayed)).toBe(canonicalAuditContent(records[i]));
      expect(chainHash(GENESIS_HASH, replayed)).toBe(chainHash(GENESIS_HASH, records[i]));
    }
  });
});
