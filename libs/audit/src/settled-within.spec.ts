import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settledWithin } from './settled-within';

describe('settledWithin', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('is true when the work resolves in time, and clears its timer', async () => {
    await expect(settledWithin(Promise.resolve('done'), 50)).resolves.toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts a rejection as settled and never rejects itself', async () => {
    await expect(settledWithin(Promise.reject(new Error('write failed')), 50)).resolves.toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is false once the time passes first', async () => {
    const waiting = settledWithin(new Promise(() => undefined), 50);
    await vi.advanceTimersByTimeAsync(49);
    let answered: boolean | undefined;
    void waiting.then((settled) => (answered = settled));
    await Promise.resolve();
    expect(answered).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await expect(waiting).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
