/** A figure measured in several interleaved rounds: its median and its spread (min and max). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Every round's value, in round order. */
  rounds: number[];
}

/** Median of `values` (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median, min and max of the rounds' values, rounded to `digits` decimals. */
export function spread(values: readonly number[], digits = 0): Spread {
  const round = (v: number) => Math.round(v * 10 ** digits) / 10 ** digits;
  return {
    median: round(median(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    rounds: values.map(round),
  };
}

/** `median (min-max)` for a table cell; just the median when every round gave the same value. */
export function formatSpread(s: Spread): string {
  return s.min === s.max ? `${s.median}` : `${s.median} (${s.min}-${s.max})`;
}
