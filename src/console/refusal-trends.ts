import type { RefusalCount } from './console-audit.repository';

/** One group of refusals: its series over the window and how much it is rising. */
export interface RefusalGroup {
  key: string;
  total: number;
  /** Denials per bucket, oldest first. */
  series: number[];
  /** Denials in the later half of the window minus those in the earlier half (positive: rising). */
  rise: number;
}

/**
 * Turns per-bucket counts into one series per group, rising groups first: by `rise`
 * descending, then by total, then by key (a stable order for equal groups).
 *
 * @param buckets number of buckets in the window; counts outside 0..buckets-1 are ignored
 */
export function refusalTrends(counts: RefusalCount[], buckets: number): RefusalGroup[] {
  const byKey = new Map<string, number[]>();
  for (const { key, bucket, count } of counts) {
    if (bucket < 0 || bucket >= buckets) continue;
    let series = byKey.get(key);
    if (!series) byKey.set(key, (series = new Array<number>(buckets).fill(0)));
    series[bucket] += count;
  }
  const half = Math.floor(buckets / 2);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return [...byKey]
    .map(([key, series]) => ({
      key,
      series,
      total: sum(series),
      rise: sum(series.slice(buckets - half)) - sum(series.slice(0, half)),
    }))
    .sort((a, b) => b.rise - a.rise || b.total - a.total || a.key.localeCompare(b.key));
}
