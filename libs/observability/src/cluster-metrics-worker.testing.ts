/**
 * A cluster worker for cluster-metrics.spec.ts (`.testing.ts`: kept out of the build): serves its metrics, one of whose collectors fails.
 * Says `{ type: 'fixture:ready' }` to the primary once it listens.
 */
import { Gauge, Registry } from 'prom-client';
import { serveWorkerMetrics } from './cluster-metrics';

const registry = new Registry();
new Gauge({
  name: 'fixture_failing_gauge',
  help: 'A gauge whose collector fails',
  registers: [registry],
  collect() {
    throw new Error('collector failed');
  },
});
serveWorkerMetrics(registry);
process.send?.({ type: 'fixture:ready' });
