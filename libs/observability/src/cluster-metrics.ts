import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** IPC messages between workers and the primary (`type` tells them from any other message). */
type MetricsMessage =
  | { type: 'platform-metrics:ask'; id: string }
  | { type: 'platform-metrics:collect'; id: string }
  | { type: 'platform-metrics:part'; id: string; metrics: MetricJson[] }
  | { type: 'platform-metrics:answer'; id: string; body?: string; error?: string };

const isMetricsMessage = (message: unknown): message is MetricsMessage =>
  typeof message === 'object' &&
  message !== null &&
  String((message as { type?: unknown }).type).startsWith('platform-metrics:');

/** How long the primary waits for every worker's part of one scrape, in milliseconds. */
export const CLUSTER_SCRAPE_TIMEOUT_MS = 2_000;

/** True in a worker of cluster mode (`WORKERS` > 1): its metrics are one part of the instance's. */
export function inClusterWorker(): boolean {
  return cluster.isWorker;
}

/**
 * In a worker: sends this worker's metrics (JSON) when the primary collects a scrape.
 * Registered once per registry; a no-op outside cluster mode.
 */
export function serveWorkerMetrics(registry: Registry): void {
  if (!cluster.isWorker) return;
  process.on('message', (message: unknown) => {
    if (!isMetricsMessage(message) || message.type !== 'platform-metrics:collect') return;
    void registry.getMetricsAsJSON().then(
      (metrics) => sendToPrimary({ type: 'platform-metrics:part', id: message.id, metrics }),
      // A failing collector must not end the worker: its part of this scrape is empty instead.
      () => sendToPrimary({ type: 'platform-metrics:part', id: message.id, metrics: [] }),
    );
  });
}

/** Sends `message` to the primary; a closed IPC channel (the primary stopping) is not an error here. */
function sendToPrimary(message: MetricsMessage): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => undefined);
}

/** Sends `message` to `worker`, unless its IPC channel closed; a send failing meanwhile is ignored. */
function sendToWorker(worker: Worker, message: MetricsMessage): void {
  // The callback takes the send error, which would otherwise be an unhandled 'error' on the worker.
  if (worker.isConnected()) worker.send(message, undefined, () => undefined);
}

/**
 * In a worker: the instance's metrics, every worker's summed (counters, histograms) or combined as
 * each metric's aggregator says (prom-client's cluster aggregation), in the text exposition format.
 *
 * @throws Error when the primary does not answer within twice {@link CLUSTER_SCRAPE_TIMEOUT_MS}
 */
export function clusterExposition(): Promise<string> {
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isMetricsMessage(message) || message.type !== 'platform-metrics:answer' || message.id !== id) return;
      done();
      if (message.body !== undefined) resolve(message.body);
      else reject(new Error(message.error ?? 'the primary could not collect the metrics'));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('the primary did not answer the metrics request in time'));
    }, 2 * CLUSTER_SCRAPE_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    process.send?.({ type: 'platform-metrics:ask', id } satisfies MetricsMessage);
  });
}

/**
 * In the primary: answers a worker's scrape by collecting every live worker's part and aggregating
 * them. A worker that does not answer in time is left out of that scrape (its counters reappear in
 * the next one; Prometheus' rate() tolerates the gap).
 */
export function relayClusterMetrics(): void {
  cluster.on('message', (asker, message: unknown) => {
    if (!isMetricsMessage(message) || message.type !== 'platform-metrics:ask') return;
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is NonNullable<typeof w> => w !== undefined && w.isConnected(),
    );
    const collectId = randomUUID();
    const parts: MetricJson[][] = [];
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      cluster.off('message', onPart);
      try {
        const body = AggregatorRegistry.aggregate(parts).metrics();
        void body.then(
          (text) => sendToWorker(asker, { type: 'platform-metrics:answer', id: message.id, body: text }),
          (err: Error) => sendToWorker(asker, { type: 'platform-metrics:answer', id: message.id, error: err.message }),
        );
      } catch (err) {
        sendToWorker(asker, { type: 'platform-metrics:answer', id: message.id, error: (err as Error).message });
      }
    };
    const onPart = (_worker: unknown, part: unknown) => {
      if (!isMetricsMessage(part) || part.type !== 'platform-metrics:part' || part.id !== collectId) return;
      parts.push(part.metrics);
      if (parts.length === workers.length) finish();
    };
    const timer = setTimeout(finish, CLUSTER_SCRAPE_TIMEOUT_MS);
    cluster.on('message', onPart);
    for (const worker of workers) sendToWorker(worker, { type: 'platform-metrics:collect', id: collectId });
  });
}
