import type { Metric, Registry } from 'prom-client';

/** One sample as prom-client's registry formats it (`metricName` defaults to the metric's name). */
interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** What prom-client's registry reads from a metric at scrape time. */
interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Sample[];
}

/**
 * Counters and histograms for the request path whose labelled series are plain objects held by
 * the caller: recording is an increment, with no label hashing or validation (prom-client's
 * `labels(...)` children hash and validate their label object on every `inc`/`observe`). The
 * registry reads them at scrape time; the exposition is the same as prom-client's own metrics.
 */
abstract class LabelledMetric<Series extends { labels: Record<string, string> }> {
  readonly aggregator = 'sum' as const;
  /** Every series, in creation order (the exposition's order). */
  protected readonly series: Series[] = [];
  /** The series by label values: nested maps, one level per label, the last level holding the series. */
  private readonly index = new Map<string, unknown>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /**
   * The series of these label values (one per label, in `labelNames` order), created on first
   * use. Found through nested maps by value: no key string is joined per lookup (its
   * concatenations cost every request), and no two value lists can share a series.
   */
  child(...values: string[]): Series {
    let level = this.index;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(values[i], (next = new Map()));
      level = next;
    }
    let series = level.get(values[last]) as Series | undefined;
    if (series === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]));
      series = this.create(labels);
      level.set(values[last], series);
      this.series.push(series);
    }
    return series;
  }

  /** Forgets every series (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.series.length = 0;
    this.index.clear();
  }

  protected abstract create(labels: Record<string, string>): Series;
}

/** One series of a {@link LabelledCounter}. */
export interface CounterSeries {
  labels: Record<string, string>;
  value: number;
}

/** A counter whose series are {@link CounterSeries}: `series.value++` counts one. */
export class LabelledCounter extends LabelledMetric<CounterSeries> {
  readonly type = 'counter' as const;

  protected create(labels: Record<string, string>): CounterSeries {
    return { labels, value: 0 };
  }

  /** The metric as prom-client's registry reads it. */
  async get(): Promise<MetricSnapshot> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.series.map((s) => ({ labels: s.labels, value: s.value })),
    };
  }
}

/** One series of a {@link LabelledHistogram}: per-bucket (not cumulative) counts, sum and count. */
export interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket, `buckets[i]` counting values in (upperBounds[i-1], upperBounds[i]]. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** A histogram whose series are {@link HistogramSeries}; record with {@link LabelledHistogram.observe}. */
export class LabelledHistogram extends LabelledMetric<HistogramSeries> {
  readonly type = 'histogram' as const;

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    /** Upper bounds, ascending (seconds for a latency). */
    readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
  }

  /** Records one value (above the last bound: counted in `+Inf` only). */
  observe(series: HistogramSeries, value: number): void {
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        series.buckets[i]++;
        break;
      }
    }
    series.sum += value;
    series.count++;
  }

  protected create(labels: Record<string, string>): HistogramSeries {
    return { labels, buckets: new Float64Array(this.upperBounds.length), sum: 0, count: 0 };
  }

  /** The metric as prom-client's histograms give it to the registry: cumulative buckets, `+Inf`, `_sum`, `_count`. */
  async get(): Promise<MetricSnapshot> {
    const values: Sample[] = [];
    for (const s of this.series) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += s.buckets[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...s.labels }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
