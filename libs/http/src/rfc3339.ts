import { ValidateBy, type ValidationOptions } from 'class-validator';

/** Earliest and latest instants (ms since the epoch) that JavaScript, ISO 8601 with four-digit years and PostgreSQL all hold. */
const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * True for an instant (milliseconds since the epoch) from 0001-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999Z: what `toISOString()` writes with four digits and PostgreSQL
 * `timestamptz` reads back. Year 0000 (1 BC) and expanded years are outside.
 */
export function isStorableInstant(ms: number): boolean {
  return ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/**
 * True for an RFC 3339 date-time with a zone (section 5.6) that names a real instant: a real
 * calendar day (no February 30), hours 00-23, minutes and seconds 00-59. A leap second (`:60`) is
 * refused: JavaScript dates and PostgreSQL cannot hold it. So is an instant outside
 * {@link isStorableInstant} (year 0000, or an offset that moves a year-1 time into year 0).
 */
export function isRfc3339DateTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCDate() === day && isStorableInstant(Date.parse(value));
}

/** class-validator decorator for {@link isRfc3339DateTime}; the message names the property. */
export function IsRfc3339DateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRfc3339DateTime',
      validator: {
        validate: (value) => isRfc3339DateTime(value),
        defaultMessage: (args) =>
          `${args?.property} must be an RFC 3339 date-time with a zone that exists, e.g. 2026-11-30T12:00:00Z`,
      },
    },
    options,
  );
}
