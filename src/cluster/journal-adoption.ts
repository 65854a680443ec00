import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import * as path from 'node:path';
import { lockFolder } from '@platform/database';

const SEGMENT = /^audit-wal-(\d+)\.ndjson$/;
const APPENDED = ['audit-journal.ndjson', 'audit-rejected.ndjson'];
const WORKER_FOLDER = /^worker-(\d+)$/;

/** The audit journal folder of worker `index` under the configured folder (`AUDIT_JOURNAL_DIR`). */
export function workerJournalDir(base: string, index: number): string {
  return path.join(base, `worker-${index}`);
}

/** Text of `file` up to and including its last newline (a torn last line, never acknowledged, is left out). */
function completeLines(file: string): string {
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1);
}

/**
 * Hands the audit records a folder holds to another folder, where its next owner replays them:
 * journal lines are appended, write-ahead segments are moved under sequence numbers after the
 * target's own. The source is locked while it is read, so a live process's folder is never taken.
 *
 * @returns records' files moved or appended (0 when the source held none)
 * @throws Error when another live process holds the source folder
 */
function moveRecords(source: string, target: string): number {
  const release = lockFolder(source);
  try {
    let moved = 0;
    for (const name of APPENDED) {
      const file = path.join(source, name);
      if (!existsSync(file)) continue;
      const text = completeLines(file);
      if (text !== '') appendFileSync(path.join(target, name), text, { flag: 'a' });
      rmSync(file);
      moved += text === '' ? 0 : 1;
    }
    const seqs = (dir: string) => readdirSync(dir).map((n) => Number(SEGMENT.exec(n)?.[1] ?? 0));
    let next = Math.max(0, ...seqs(target)) + 1;
    for (const name of readdirSync(source)
      .filter((n) => SEGMENT.test(n))
      .sort()) {
      renameSync(path.join(source, name), path.join(target, `audit-wal-${String(next++).padStart(12, '0')}.ndjson`));
      moved++;
    }
    return moved;
  } finally {
    release();
  }
}

/**
 * Before workers start: audit records left in journal folders that no worker of this run will own
 * (the single-process folder after a switch to several workers, `worker-<k>` folders after WORKERS
 * went down) are handed to `owners[0]`, which replays them at start. Nothing is left unreplayed
 * when the worker count changes.
 *
 * @param base the configured journal folder (`AUDIT_JOURNAL_DIR`)
 * @param owners the folders this run's processes own (the base itself for a single process)
 * @returns the folders whose records were handed over
 * @throws Error when a live process still holds one of those folders
 */
export function adoptOrphanJournals(base: string, owners: string[]): string[] {
  if (!existsSync(base)) return [];
  const [heir] = owners;
  const owned = new Set(owners.map((o) => path.resolve(o)));
  const candidates = [
    base,
    ...readdirSync(base)
      .filter((n) => WORKER_FOLDER.test(n))
      .map((n) => path.join(base, n)),
  ];
  const adopted: string[] = [];
  for (const dir of candidates) {
    if (owned.has(path.resolve(dir)) || !statSync(dir).isDirectory()) continue;
    const holdsRecords = readdirSync(dir).some((n) => SEGMENT.test(n) || APPENDED.includes(n));
    if (!holdsRecords) continue;
    mkdirSync(heir, { recursive: true });
    // The heir is locked too: records are never appended under a live process's feet.
    const release = lockFolder(heir);
    try {
      if (moveRecords(dir, heir) > 0) adopted.push(dir);
    } finally {
      release();
    }
  }
  return adopted;
}
