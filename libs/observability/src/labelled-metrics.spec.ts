import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LabelledCounter, LabelledHistogram } from './labelled-metrics';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const VALUES = [0.0005, 0.001, 0.02, 0.5, 3, 0.02];

describe('labelled metrics', () => {
  it('expose exactly what prom-client exposes for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const counter = new LabelledCounter('x_total', 'help x', ['app', 'status'], ours);
    const histogram = new LabelledHistogram('x_seconds', 'help y', ['app', 'status'], BUCKETS, ours);
    const promCounter = new Counter({
      name: 'x_total',
      help: 'help x',
      labelNames: ['app', 'status'],
      registers: [theirs],
    });
    const promHistogram = new Histogram({
      name: 'x_seconds',
      help: 'help y',
      labelNames: ['app', 'status'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    for (const [i, value] of VALUES.entries()) {
      const status = i % 2 ? '200' : '404';
      counter.child('billing', status).value++;
      histogram.observe(histogram.child('billing', status), value);
      promCounter.labels('billing', status).inc();
      promHistogram.labels('billing', status).observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // As JSON too (what a cluster's AggregatorRegistry merges); prom-client adds empty exemplar slots.
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === 'exemplar' ? undefined : value))) as unknown;
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('give the same series object for the same label values, and forget them on reset', () => {
    const registry = new Registry();
    const counter = new LabelledCounter('y_total', 'help', ['reason'], registry);
    const series = counter.child('expired');
    series.value += 2;
    expect(counter.child('expired')).toBe(series);
    expect(counter.child('missing_token')).not.toBe(series);
    registry.resetMetrics();
    expect(counter.child('expired').value).toBe(0);
  });

  it('keep apart label values that a joined key would confuse', () => {
    const counter = new LabelledCounter('z_total', 'help', ['app', 'route', 'method'], new Registry());
    const joined = counter.child('billing\u0000/x', 'GET', '');
    const split = counter.child('billing', '/x\u0000GET', '');
    expect(split).not.toBe(joined);
    expect(counter.child('billing\u0000/x', 'GET', '')).toBe(joined);
    expect(split.labels).toEqual({ app: 'billing', route: '/x\u0000GET', method: '' });
  });
});
