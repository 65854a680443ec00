import { describe, expect, it, vi } from 'vitest';
import { SeriesCache } from './series-cache';

describe('SeriesCache', () => {
  it('makes each series once, from its own label values; values a joined key would confuse stay apart', () => {
    const make = vi.fn((a: string, b: string, c: string, d: string) => ({ labels: [a, b, c, d] }));
    const cache = new SeriesCache(make);
    const first = cache.get('billing', '/x', 'GET', '200');
    expect(cache.get('billing', '/x', 'GET', '200')).toBe(first);
    expect(first.labels).toEqual(['billing', '/x', 'GET', '200']);
    expect(cache.get('billing\u0000/x', 'GET', '200')).not.toBe(first);
    expect(cache.get('billing', '/x\u0000GET', '200')).not.toBe(cache.get('billing\u0000/x', 'GET', '200'));
    expect(cache.get('reason').labels).toEqual(['reason', '', '', '']);
    expect(make).toHaveBeenCalledTimes(4);
  });
});
