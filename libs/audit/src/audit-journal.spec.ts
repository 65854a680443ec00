import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditJournal } from './audit-journal';
import type { NewAuditRow } from './audit.schema';

const row = (n: number, padding = ''): NewAuditRow => ({
  recordId: randomUUID(),
  kind: 'access',
  occurredAt: new Date(1_800_000_000_000 + n),
  requestId: `r-${n}`,
  method: 'GET',
  path: `/p/${padding}`,
  requiredPermissions: [],
  status: 200,
  durationMs: 1,
});

describe('AuditJournal', () => {
  let dir: string;
  let journal: AuditJournal;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-spec-'));
    journal = new AuditJournal(dir);
    await journal.open();
  });
  afterEach(async () => {
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads back what was appended, in order, in batches, with dates revived', async () => {
    const rows = Array.from({ length: 7 }, (_, n) => row(n));
    await journal.append(rows.slice(0, 4));
    await journal.append(rows.slice(4));
    expect(journal.records).toBe(7);
    const first = await journal.read(0, 5);
    const second = await journal.read(first.next, 5);
    expect([...first.rows, ...second.rows]).toEqual(rows);
    expect(second.next).toBe(journal.size);
    expect(first.rows[0].occurredAt).toBeInstanceOf(Date);
  });

  it('reads lines larger than its read chunk (1 MiB)', async () => {
    const rows = [row(1, 'x'.repeat(1_500_000)), row(2)];
    await journal.append(rows);
    const batch = await journal.read(0, 10);
    expect(batch.rows.map((r) => r.requestId)).toEqual(['r-1', 'r-2']);
    expect(batch.next).toBe(journal.size);
  });

  it('cuts a line torn by a crash at open, so the next append starts a line of its own; skips unreadable lines', async () => {
    await journal.append([row(1)]);
    await journal.close();
    appendFileSync(path.join(dir, 'audit-journal.ndjson'), 'not json\n{"recordId":"tor');
    const reopened = new AuditJournal(dir);
    expect(await reopened.open()).toBe(1);
    try {
      expect(reopened.pending).toBe(true);
      await reopened.append([row(2)]);
      const batch = await reopened.read(0, 10);
      expect(batch.rows.map((r) => r.requestId)).toEqual(['r-1', 'r-2']);
      expect(batch.corrupt).toBe(1);
      expect(batch.next).toBe(reopened.size);
      await reopened.clear();
      expect(reopened.pending).toBe(false);
    } finally {
      await reopened.close();
    }
  });
});
