import { ValidateBy, type ValidationOptions } from 'class-validator';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/**
 * True for an RFC 3339 date-time with a zone (section 5.6) that names a real instant: a real
 * calendar day (no February 30), hours 00-23, minutes and seconds 00-59. A leap second (`:60`) is
 * refused: JavaScript dates and PostgreSQL cannot hold it.
 */
export function isRfc3339DateTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCDate() === day && !Number.isNaN(Date.parse(value));
}

/** class-validator decorator for {@link isRfc3339DateTime}; the message names the property. */
export function IsRfc3339DateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRfc3339DateTime',
      validator: {
        validate: (value) => isRfc3339DateTime(value),
        defaultMessage: (args) => `${args?.property} must be an RFC 3339 date-time with a zone that exists, e.g. 2026-11-30T12:00:00Z`,
      },
    },
    options,
  );
}
