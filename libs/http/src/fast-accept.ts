/**
 * Recognises input that is valid for its DTO and builds the DTO from it, or answers undefined when
 * it is not sure: the global ValidationPipe then runs its full checks (class-transformer and
 * class-validator), which make every refusal and its messages. So a fast acceptance must only ever
 * accept what the full checks accept, and build what they build (the DTO instances, the nested
 * ones, the same values); anything unusual is left to them.
 */
export type FastAccept<T> = (value: unknown) => T | undefined;

const fastAccepts = new WeakMap<object, FastAccept<unknown>>();

/**
 * Registers the fast acceptance of a DTO class for the platform's global ValidationPipe (a hot
 * route's body: class-transformer and class-validator cost tens of microseconds per request).
 * Its spec should compare it with the full checks on valid and invalid inputs
 * (`createValidationPipe({ fastAccept: false })`).
 */
export function registerFastAccept<T extends object>(dto: new () => T, accept: FastAccept<T>): void {
  fastAccepts.set(dto, accept);
}

/** The fast acceptance registered for a DTO class, if any. */
export function fastAcceptOf(metatype: unknown): FastAccept<unknown> | undefined {
  return typeof metatype === 'function' ? fastAccepts.get(metatype) : undefined;
}

/**
 * Whether `value`, found under a DTO's free-form object property, is one the full checks return
 * unchanged: JSON values only (from `JSON.parse`), no array gaps, and no key that Nest's pipe
 * strips (`__proto__`, `constructor`, `prototype`) or that class-transformer leaves out of its copy
 * (one named like a property of `Object.prototype`, e.g. `toString`).
 */
export function isPlainJson(value: unknown, depth = 0): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  // Bounded beyond the input hygiene's depth: deeper input is left to the full checks.
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false;
    }
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) {
    if (key in Object.prototype || key === 'prototype' || !Object.hasOwn(value, key)) return false;
    if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}
