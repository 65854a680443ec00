import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adoptOrphanJournals, workerJournalDir } from './journal-adoption';

describe('audit journals left by another worker count', () => {
  let base: string;
  const write = (dir: string, name: string, text: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, name), text);
  };
  beforeEach(() => {
    base = mkdtempSync(path.join(tmpdir(), 'journal-adoption-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('going from one process to two workers: the single process folder is handed to worker 0', () => {
    write(base, 'audit-journal.ndjson', '{"recordId":"a"}\n{"recordId":"b"}\n{"recordId":"torn');
    write(base, 'audit-wal-000000000007.ndjson', '{"recordId":"c"}\n');
    const owners = [workerJournalDir(base, 0), workerJournalDir(base, 1)];
    expect(adoptOrphanJournals(base, owners)).toEqual([base]);
    // The torn last line (never acknowledged) is left out; the segment keeps its content.
    expect(readFileSync(path.join(owners[0], 'audit-journal.ndjson'), 'utf8')).toBe(
      '{"recordId":"a"}\n{"recordId":"b"}\n',
    );
    expect(readdirSync(owners[0]).filter((n) => n.startsWith('audit-wal-'))).toEqual(['audit-wal-000000000001.ndjson']);
    expect(readFileSync(path.join(owners[0], 'audit-wal-000000000001.ndjson'), 'utf8')).toBe('{"recordId":"c"}\n');
    expect(readdirSync(base).filter((n) => n.endsWith('.ndjson'))).toEqual([]);
  });

  it('going from three workers to one process: worker folders are handed to the process, segments after its own', () => {
    write(base, 'audit-wal-000000000003.ndjson', '{"recordId":"own"}\n');
    write(workerJournalDir(base, 1), 'audit-journal.ndjson', '{"recordId":"w1"}\n');
    write(workerJournalDir(base, 2), 'audit-wal-000000000001.ndjson', '{"recordId":"w2"}\n');
    write(workerJournalDir(base, 2), 'audit-rejected.ndjson', '{"recordId":"bad"}\n');
    expect(adoptOrphanJournals(base, [base]).sort()).toEqual([workerJournalDir(base, 1), workerJournalDir(base, 2)]);
    expect(readFileSync(path.join(base, 'audit-journal.ndjson'), 'utf8')).toBe('{"recordId":"w1"}\n');
    expect(readFileSync(path.join(base, 'audit-rejected.ndjson'), 'utf8')).toBe('{"recordId":"bad"}\n');
    expect(readFileSync(path.join(base, 'audit-wal-000000000004.ndjson'), 'utf8')).toBe('{"recordId":"w2"}\n');
  });

  it('leaves folders this run owns, and empty ones, alone', () => {
    write(workerJournalDir(base, 0), 'audit-journal.ndjson', '{"recordId":"mine"}\n');
    mkdirSync(workerJournalDir(base, 5));
    expect(adoptOrphanJournals(base, [workerJournalDir(base, 0), workerJournalDir(base, 1)])).toEqual([]);
    expect(readFileSync(path.join(workerJournalDir(base, 0), 'audit-journal.ndjson'), 'utf8')).toBe(
      '{"recordId":"mine"}\n',
    );
  });

  it('never takes a folder a live process holds', () => {
    write(workerJournalDir(base, 3), 'audit-journal.ndjson', '{"recordId":"live"}\n');
    // The lock names a live process other than this one (the parent: lockFolder treats its own pid as free).
    writeFileSync(`${workerJournalDir(base, 3)}.lock`, `${process.ppid}@${hostname()}`);
    expect(() => adoptOrphanJournals(base, [workerJournalDir(base, 0)])).toThrow(/in use by process/);
    expect(readFileSync(path.join(workerJournalDir(base, 3), 'audit-journal.ndjson'), 'utf8')).toBe(
      '{"recordId":"live"}\n',
    );
  });
});
