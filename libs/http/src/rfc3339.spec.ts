import { describe, expect, it } from 'vitest';
import { isRfc3339DateTime } from './rfc3339';

describe('RFC 3339 date-times', () => {
  it.each([
    '2026-11-30T12:00:00Z',
    '2026-11-30T12:00:00.123456789+01:00',
    '2024-02-29T00:00:00Z',
    '2026-12-31T23:59:59-05:30',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
  ])('accepts %s', (value) => {
    expect(isRfc3339DateTime(value)).toBe(true);
  });

  it.each([
    '2026-02-30T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2026-11-30T23:59:60Z',
    '2026-13-01T00:00:00Z',
    '2026-11-30T24:00:00Z',
    '2026-11-30T12:00:00',
    '2026-11-30',
    'yesterday',
    42,
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:30:00+01:00',
    '9999-12-31T23:59:59-00:01',
  ])('refuses %s', (value) => {
    expect(isRfc3339DateTime(value)).toBe(false);
  });
});
