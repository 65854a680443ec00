import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import type { InputFlaw, InputLocation } from './input-flaw';

/** Types that `@Type()` names for conversions (query strings to numbers, dates), not nested DTOs. */
const SCALAR_TYPES = new Set<unknown>([String, Number, Boolean, Date, Object, Array, Buffer, BigInt, Symbol]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type DtoClass = new (...args: unknown[]) => object;

function isDtoClass(metatype: unknown): metatype is DtoClass {
  return typeof metatype === 'function' && !SCALAR_TYPES.has(metatype);
}

function nestedType(dto: DtoClass, key: string, holder: Record<string, unknown>): DtoClass | undefined {
  const metadata = defaultMetadataStorage.findTypeMetadata(dto, key);
  if (!metadata) return undefined;
  const type = metadata.typeFunction({ newObject: {}, object: holder, property: key });
  return isDtoClass(type) ? type : undefined;
}

/**
 * The places where a value's JSON shape contradicts its DTO class: the DTO itself, and every
 * property declared with `@Type(() => SomeDto)`, must be an object, or an array whose every element
 * is an object when the property is an array (`"lines": [[]]` and `"events": ["x"]` are refused at
 * `lines.0` / `events.1`; `"data": []` where one object belongs at `data`). class-transformer and
 * class-validator would otherwise let such values reach a handler (an empty inner array has nothing
 * to validate). Everything else is left to the DTO's own validators. Bounded by the depth the input
 * hygiene hook allows.
 *
 * @param metatype the DTO class (others, e.g. `String` or `Object`, have no shape to check)
 * @returns the flaws found, in document order; empty when the shape fits
 */
export function shapeFlaws(metatype: unknown, value: unknown, path = ''): InputFlaw[] {
  if (!isDtoClass(metatype)) return [];
  if (!isPlainObject(value)) return [{ path, message: `${path || 'the value'} must be a JSON object` }];
  const flaws: InputFlaw[] = [];
  for (const key of Object.keys(value)) {
    const type = nestedType(metatype, key, value);
    if (!type) continue;
    const child = value[key];
    const childPath = path ? `${path}.${key}` : key;
    const declaredArray = Reflect.getMetadata?.('design:type', metatype.prototype as object, key) === Array;
    if (Array.isArray(child)) {
      if (!declaredArray) {
        flaws.push({ path: childPath, message: `${childPath} must be a JSON object, not an array` });
        continue;
      }
      child.forEach((element, i) => flaws.push(...shapeFlaws(type, element, `${childPath}.${i}`)));
    } else if (isPlainObject(child)) {
      if (declaredArray) flaws.push({ path: childPath, message: `${childPath} must be an array` });
      else flaws.push(...shapeFlaws(type, child, childPath));
    }
    // Scalars and null: the DTO's validators name them (`must be an array`, `nested property ... must be an object`).
  }
  return flaws;
}

/** Where a Nest parameter comes from, as an {@link InputLocation}. */
export function locationOfParameter(type: 'body' | 'query' | 'param' | 'custom'): InputLocation | undefined {
  return type === 'param' ? 'path' : type === 'custom' ? undefined : type;
}
