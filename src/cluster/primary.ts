import cluster, { type Worker } from 'node:cluster';
import { workerJournalDir } from './journal-adoption';

/** Environment variable telling a worker its index (0-based), so its journal folder stays its own across restarts. */
export const WORKER_INDEX_ENV = 'PLATFORM_WORKER_INDEX';

/** A worker that dies within this many milliseconds of its start counts as a failed start. */
const EARLY_EXIT_MS = 10_000;
/** Failed starts in a row after which the primary gives up (a configuration or database problem, not a crash). */
const MAX_FAILED_STARTS = 3;

/** One line of the primary's own log: JSON, like the workers' (pino) lines. */
function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  const levels = { info: 30, warn: 40, error: 50 } as const;
  process.stdout.write(
    `${JSON.stringify({ level: levels[level], time: Date.now(), pid: process.pid, role: 'primary', ...fields, msg })}\n`,
  );
}

/**
 * Runs the cluster primary: forks `count` workers (each runs the whole platform; node:cluster hands
 * them connections on the shared port), each with its own audit journal folder under `journalBase`.
 * A worker that crashes is started again with the same index (it replays its own journal); one that
 * fails at start {@link MAX_FAILED_STARTS} times in a row stops the cluster (exit 1). SIGTERM or
 * SIGINT stops every worker gracefully (each finishes its requests and flushes its audit trail) and
 * the primary exits when they have, with 0 when all stopped cleanly.
 *
 * @param count workers to run, >= 2
 * @param journalBase the configured audit journal folder (`AUDIT_JOURNAL_DIR` or `DATA_DIR/audit-journal`)
 * @param rateLimitInstances the configured `RATE_LIMIT_INSTANCES` (instances, each running `count` workers)
 * @param shutdownTimeoutMs how long a graceful stop may take before workers are killed
 * @returns resolves when the cluster has stopped, with the exit code to use
 */
export function runPrimary(
  count: number,
  journalBase: string,
  rateLimitInstances: number,
  shutdownTimeoutMs: number,
): Promise<number> {
  const startedAt = new Map<Worker, number>();
  const indexOf = new Map<Worker, number>();
  const listening = new Set<number>();
  let failedStarts = 0;
  let stopping = false;
  let code = 0;

  const fork = (index: number) => {
    const worker = cluster.fork({
      [WORKER_INDEX_ENV]: String(index),
      AUDIT_JOURNAL_DIR: workerJournalDir(journalBase, index),
      // While Redis is unreachable each process counts alone: every worker of every instance takes its share.
      RATE_LIMIT_INSTANCES: String(Math.min(1000, rateLimitInstances * count)),
    });
    startedAt.set(worker, Date.now());
    indexOf.set(worker, index);
    worker.on('listening', () => {
      failedStarts = 0;
      listening.add(index);
      if (listening.size === count && !stopping) log('info', 'Platform cluster listening', { workers: count });
    });
  };

  return new Promise((resolve) => {
    cluster.on('exit', (worker, exitCode, signal) => {
      const index = indexOf.get(worker) ?? -1;
      listening.delete(index);
      indexOf.delete(worker);
      const early = Date.now() - (startedAt.get(worker) ?? 0) < EARLY_EXIT_MS;
      startedAt.delete(worker);
      if (stopping) {
        if (exitCode !== 0) code = 1;
        if (indexOf.size === 0) resolve(code);
        return;
      }
      log('error', 'Worker stopped unexpectedly', { worker: index, exitCode, signal });
      failedStarts = early ? failedStarts + 1 : 0;
      if (failedStarts >= MAX_FAILED_STARTS) {
        log('error', 'Workers keep failing at start: stopping the cluster', { failedStarts });
        code = 1;
        stop();
        if (indexOf.size === 0) resolve(code);
        return;
      }
      fork(index);
    });

    const stop = () => {
      if (stopping) return;
      stopping = true;
      log('info', 'Stopping workers', { workers: indexOf.size });
      for (const worker of indexOf.keys()) worker.process.kill('SIGTERM');
      // Never hang: a worker that has not stopped in time is killed (its journal keeps its records).
      setTimeout(() => {
        for (const worker of indexOf.keys()) worker.process.kill('SIGKILL');
      }, shutdownTimeoutMs).unref();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    log('info', 'Starting workers', { workers: count });
    for (let i = 0; i < count; i++) fork(i);
  });
}
