import { describe, expect, it } from 'vitest';
import { refusalTrends } from './refusal-trends';

describe('refusalTrends', () => {
  it('builds one series per group and puts the most rising first, then the largest', () => {
    const groups = refusalTrends(
      [
        { key: 'steady', bucket: 0, count: 5 },
        { key: 'steady', bucket: 3, count: 5 },
        { key: 'rising', bucket: 3, count: 2 },
        { key: 'falling', bucket: 0, count: 4 },
        { key: 'rising', bucket: 2, count: 1 },
      ],
      4,
    );
    expect(groups).toEqual([
      { key: 'rising', series: [0, 0, 1, 2], total: 3, rise: 3 },
      { key: 'steady', series: [5, 0, 0, 5], total: 10, rise: 0 },
      { key: 'falling', series: [4, 0, 0, 0], total: 4, rise: -4 },
    ]);
  });

  it('ignores counts outside the window and orders equal groups by key', () => {
    const groups = refusalTrends(
      [
        { key: 'b', bucket: 1, count: 1 },
        { key: 'a', bucket: 1, count: 1 },
        { key: 'a', bucket: 2, count: 9 },
        { key: 'a', bucket: -1, count: 9 },
      ],
      2,
    );
    expect(groups.map((g) => g.key)).toEqual(['a', 'b']);
    expect(groups[0].series).toEqual([0, 1]);
  });

  it('an odd number of buckets leaves the middle one out of the rise', () => {
    expect(refusalTrends([{ key: 'x', bucket: 1, count: 7 }], 3)[0]).toMatchObject({ total: 7, rise: 0 });
  });
});
