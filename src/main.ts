// First: the tracing instrumentations must patch modules before they are loaded.
import { shutdownTracing } from './tracing';
import 'reflect-metadata';
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ConfigError, parsePlatformConfig } from '@platform/config';
import { relayClusterMetrics } from '@platform/observability';
import { startPlatform } from './bootstrap';
import { adoptOrphanJournals, workerJournalDir } from './cluster/journal-adoption';
import { runPrimary } from './cluster/primary';
import { resolveWorkerCount } from './cluster/workers-setting';

/** How long the primary waits for its workers' graceful stop before killing them (below Kubernetes' 50 s grace period). */
const CLUSTER_SHUTDOWN_TIMEOUT_MS = 40_000;

/**
 * One process serving HTTP: the whole platform, stopped gracefully on SIGTERM or SIGINT. The
 * handlers are installed before the start, so that a signal during it (a cluster stopping while
 * its workers start) is a clean stop once the start completes, not the default death by signal.
 */
async function serve(): Promise<void> {
  let platform: Awaited<ReturnType<typeof startPlatform>> | undefined;
  let requested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    requested ??= signal;
    // Still starting: what it opened is closed once the start completes (below).
    if (!platform || stopping) return;
    stopping = true;
    platform
      .close()
      .then(() => shutdownTracing())
      .then(() => process.exit(0))
      .catch((err: Error) => {
        process.stderr.write(`shutdown after ${signal} failed: ${err.message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  platform = await startPlatform();
  if (requested) stop(requested);
}

async function main(): Promise<void> {
  if (cluster.isWorker) return serve();
  const workers = resolveWorkerCount(process.env, availableParallelism());
  // Validated here too, so a bad setting fails once, in the primary, before any worker starts.
  const config = parsePlatformConfig(process.env);
  const journalBase = config.audit.journalDir;
  const owners =
    workers === 1 ? [journalBase] : Array.from({ length: workers }, (_, i) => workerJournalDir(journalBase, i));
  // Records a crash left in folders no process of this run owns are replayed by the first one.
  adoptOrphanJournals(journalBase, owners);
  if (workers === 1) return serve();
  // A scrape answered by any worker shows the whole instance.
  relayClusterMetrics();
  process.exit(await runPrimary(workers, journalBase, config.rateLimitInstances, CLUSTER_SHUTDOWN_TIMEOUT_MS));
}

main().catch((err: Error) => {
  // Configuration problems name the variable, never its value.
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `Platform failed to start: ${err.message}\n`);
  process.exit(1);
});
