import { describe, expect, it } from 'vitest';
import { findInputFlaw, INPUT_LIMITS, stringFlaw } from './input-hygiene';

describe('input hygiene', () => {
  it('names the first NUL, lone surrogate or out-of-range instant by its dotted path', () => {
    expect(findInputFlaw({ a: [{ b: 'ok' }, { b: 'x\u0000' }] })?.path).toBe('a.1.b');
    expect(findInputFlaw({ a: '\udc00' })?.message).toMatch(/surrogate/);
    expect(findInputFlaw({ 'k\u0000': 1 })).toMatchObject({
      path: 'k\\u0000',
      message: expect.stringMatching(/^key /) as unknown,
    });
    expect(findInputFlaw({ from: '0000-12-31T23:59:59Z' })?.path).toBe('from');
    expect(findInputFlaw({ from: '0001-01-01T00:30:00+01:00' })?.path).toBe('from');
    expect(findInputFlaw({ from: '0000-12-31T23:59:59Z' }, INPUT_LIMITS, false)).toBeUndefined();
    expect(findInputFlaw('a\u0000')).toMatchObject({ path: '' });
  });

  it('refuses nesting beyond maxDepth and containers beyond maxEntries, at any depth, without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findInputFlaw(deep)?.message).toMatch(/deeper than 32/);
    expect(findInputFlaw({ a: { b: 1 } }, { maxDepth: 1, maxEntries: 10 })?.path).toBe('a');
    expect(findInputFlaw({ a: { b: 1 } }, { maxDepth: 2, maxEntries: 10 })).toBeUndefined();
    expect(findInputFlaw({ a: [1, 2, 3] }, { maxDepth: 5, maxEntries: 2 })).toMatchObject({
      path: 'a',
      message: 'has more than 2 elements',
    });
  });

  it('lets well-formed text through: astral characters, controls other than NUL, dates in range', () => {
    for (const value of [
      '😀',
      '\t\n\u0001',
      'Ünïcødé',
      '2026-11-30T12:00:00Z',
      '9999-12-31T23:59:59.999Z',
      '0001-01-01T00:00:00Z',
      '2026-02-30T00:00:00Z',
    ]) {
      expect(stringFlaw(value), value).toBeUndefined();
    }
  });
});
