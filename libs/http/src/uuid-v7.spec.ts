import { describe, expect, it } from 'vitest';
import { uuidV7 } from './uuid-v7';

/** RFC 9562 layout: version nibble 7, variant bits 10 (8, 9, a or b). */
const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 16 bytes of an id, as PostgreSQL's `uuid` compares them. */
const bytesOf = (id: string): Buffer => Buffer.from(id.replaceAll('-', ''), 'hex');

describe('uuidV7 (RFC 9562 version 7)', () => {
  it('is a lowercase version 7, variant 10 UUID carrying the time in its first 48 bits', () => {
    const ms = Date.UTC(2026, 11, 2, 10, 0, 0, 123);
    const id = uuidV7(ms);
    expect(id).toMatch(V7);
    expect(bytesOf(id).readUIntBE(0, 6)).toBe(ms);
    expect(uuidV7(0).startsWith('00000000-0000-7')).toBe(true);
    expect(bytesOf(uuidV7(2 ** 48 - 1)).readUIntBE(0, 6)).toBe(2 ** 48 - 1);
    const now = Date.now();
    const current = bytesOf(uuidV7()).readUIntBE(0, 6);
    expect(current).toBeGreaterThanOrEqual(now);
    expect(current).toBeLessThan(now + 1000);
  });

  it.each([-1, Number.NaN, 1.5, 2 ** 48, Number.POSITIVE_INFINITY])('refuses %s as a time (RangeError)', (ms) => {
    expect(() => uuidV7(ms)).toThrow(RangeError);
    // A refused time leaves nothing behind: the next id is whole.
    expect(uuidV7(Date.UTC(2026, 11, 2))).toMatch(V7);
  });

  it('sorts by time across milliseconds, as strings and as bytes', () => {
    const base = Date.UTC(2026, 11, 2);
    // Many draws per millisecond: the random part must never outweigh the time.
    const groups = Array.from({ length: 200 }, (_, t) => Array.from({ length: 10 }, () => uuidV7(base + t)));
    for (let t = 1; t < groups.length; t++) {
      const latestBefore = [...groups[t - 1]].sort().at(-1) as string;
      for (const id of groups[t]) {
        expect(id > latestBefore, `${id} after ${latestBefore}`).toBe(true);
        expect(Buffer.compare(bytesOf(id), bytesOf(latestBefore))).toBe(1);
      }
    }
  });

  it('is unique over many calls in one millisecond, the random bits all varying', () => {
    const ms = Date.now();
    const ids = Array.from({ length: 100_000 }, () => uuidV7(ms));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 1000)) expect(id).toMatch(V7);
    // Every random bit is seen both set and clear (74 bits: bytes 6-15 but the version and variant bits).
    const ones = Buffer.alloc(16);
    const zeros = Buffer.alloc(16);
    for (const id of ids.slice(0, 1000)) {
      const b = bytesOf(id);
      for (let i = 6; i < 16; i++) {
        ones[i] |= b[i];
        zeros[i] |= ~b[i] & 0xff;
      }
    }
    expect(ones.subarray(6).toString('hex')).toBe('7fffbfffffffffffffff');
    expect(zeros.subarray(6).toString('hex')).toBe('8fff7fffffffffffffff');
  });
});
