import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min, ValidateBy, type ValidationArguments } from 'class-validator';

/*
 * Property decorators for the raw-environment schema (platform-env.schema.ts). Every message
 * names the variable and never the value: a URL or a bootstrap document may carry a secret.
 * Values arrive trimmed, and blank ones are already dropped (validatePlatformEnv).
 */

/** An optional integer variable in `min..max`; one message for every way it can be wrong. */
export function EnvInt(min: number, max = Number.MAX_SAFE_INTEGER): PropertyDecorator {
  const message = ({ property }: ValidationArguments) => `${property} must be an integer between ${min} and ${max}`;
  return applyDecorators(
    IsOptional(),
    // Number() and not parseInt: "3000abc" and "80.5" must fail, not become 3000 and 80.
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value)),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

/** An optional `true`/`false` variable. */
export function EnvBool(): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value)),
    IsBoolean({ message: ({ property }) => `${property} must be true or false` }),
  );
}

/** An optional variable holding one of `allowed`; `text` is how the message lists them. */
export function EnvOneOf(allowed: readonly string[], text = `one of ${allowed.join(', ')}`): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    IsIn([...allowed], { message: ({ property }) => `${property} must be ${text}` }),
  );
}

/** An optional comma-separated list, trimmed, empty entries dropped (so `" , "` is `[]`). */
export function EnvList(): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value,
    ),
  );
}

/**
 * Every entry of a list variable must pass `accept`; one message per refused entry, each on its
 * own line (validatePlatformEnv splits them). Use only where entries are not secrets: they are quoted.
 */
export function EachEntry(
  accept: (entry: string) => boolean,
  refusal: (property: string, entry: string) => string,
): PropertyDecorator {
  const refused = (value: unknown) =>
    Array.isArray(value) ? (value as unknown[]).filter((entry) => typeof entry !== 'string' || !accept(entry)) : [];
  return ValidateBy({
    name: 'eachEntry',
    validator: {
      validate: (value) => refused(value).length === 0,
      defaultMessage: (args) =>
        refused(args?.value)
          .map((entry) => refusal(args?.property ?? '', String(entry).slice(0, 100)))
          .join('\n'),
    },
  });
}

/** An optional variable matching `pattern` (or accepted by it); `text` completes "`NAME` must be ...". */
export function EnvMatches(pattern: RegExp | ((value: string) => boolean), text: string): PropertyDecorator {
  const accept = typeof pattern === 'function' ? pattern : (value: string) => pattern.test(value);
  return applyDecorators(
    IsOptional(),
    ValidateBy({
      name: 'envMatches',
      validator: {
        validate: (value) => typeof value === 'string' && accept(value),
        defaultMessage: (args) => `${args?.property} must be ${text}`,
      },
    }),
  );
}

/** True for an exact web origin: scheme and host (and port), no path, no wildcard. */
export function isOrigin(value: string): boolean {
  if (!/^https?:\/\/[^/\s*]+$/i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
