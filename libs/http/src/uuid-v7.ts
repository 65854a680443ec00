import { randomFillSync } from 'node:crypto';

/** Byte -> two lowercase hex digits. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Random bytes drawn in bulk: one `randomFillSync` per 256 ids (10 bytes each), as `randomUUID` pools its own. */
const POOL = Buffer.alloc(10 * 256);
let poolOffset = POOL.length;
/** The millisecond last formatted and its `tttttttt-tttt-` prefix: ids made in the same millisecond share it. */
let lastMs = Number.NaN;
let prefix = '';

/**
 * A new UUID version 7 (RFC 9562 section 5.7), lowercase `xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx`:
 * the first 48 bits are `unixMs` (big-endian), then the version (7), 12 random bits, the variant
 * (`10`) and 62 random bits (74 random bits in all, from the CSPRNG).
 *
 * Ids of different milliseconds sort by time, as strings and as PostgreSQL `uuid`s, so an index on
 * them grows at its right edge instead of touching a random leaf page per insert (what a v4 key
 * costs once the index outgrows the buffer cache). Ids of the same millisecond are in random order
 * (no counter: RFC 9562 section 6.2 makes monotonicity within a millisecond optional); a clock set
 * back makes later ids sort before earlier ones, never collide (74 random bits). An id reveals when
 * it was made, to the millisecond.
 *
 * @param unixMs milliseconds since the Unix epoch, an integer in [0, 2^48); default `Date.now()`
 * @returns the id, 36 characters
 * @throws RangeError when `unixMs` is not an integer in [0, 2^48)
 */
export function uuidV7(unixMs: number = Date.now()): string {
  if (unixMs !== lastMs) {
    // Checked here, once per millisecond: an id that is not 36 characters would fail a whole audit batch's ::uuid cast.
    if (!Number.isInteger(unixMs) || unixMs < 0 || unixMs >= 2 ** 48)
      throw new RangeError(`uuidV7: unixMs must be an integer in [0, 2^48), got ${unixMs}`);
    const t = unixMs.toString(16).padStart(12, '0');
    prefix = `${t.slice(0, 8)}-${t.slice(8)}-`;
    lastMs = unixMs;
  }
  if (poolOffset === POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const b = POOL;
  const o = poolOffset;
  poolOffset += 10;
  return (
    prefix +
    HEX[(b[o] & 0x0f) | 0x70] + // version 7 and 4 random bits
    HEX[b[o + 1]] +
    '-' +
    HEX[(b[o + 2] & 0x3f) | 0x80] + // variant 10 and 6 random bits
    HEX[b[o + 3]] +
    '-' +
    HEX[b[o + 4]] +
    HEX[b[o + 5]] +
    HEX[b[o + 6]] +
    HEX[b[o + 7]] +
    HEX[b[o + 8]] +
    HEX[b[o + 9]]
  );
}
