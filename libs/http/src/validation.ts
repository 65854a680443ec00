import {
  type ArgumentMetadata,
  BadRequestException,
  ValidationError,
  ValidationPipe,
  type PipeTransform,
  Param,
  ParseUUIDPipe,
} from '@nestjs/common';
import { fastAcceptOf } from './fast-accept';
import type { Problem } from './problem';
import { locationOfParameter, shapeFlaws } from './shape-check';

/** Flattens class-validator errors into `{ path, messages }` with dotted paths (`events.0.ts`). */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): NonNullable<Problem['errors']> {
  const out: NonNullable<Problem['errors']> = [];
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) out.push({ path, messages: Object.values(error.constraints) });
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, path));
  }
  return out;
}

/** Thrown by the global validation pipe; carries field paths only, never the payload. */
export class RequestValidationException extends BadRequestException {
  constructor(readonly errors: NonNullable<Problem['errors']>) {
    super('The request body or parameters are invalid.');
  }
}

/**
 * Options of the one global ValidationPipe. `forbidUnknownValues` closes CVE-2019-18413
 * (a body that is not a class instance skipped every check); nested DTOs need
 * `@ValidateNested()` with `@Type()`.
 */
export const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors: ValidationError[]) => new RequestValidationException(flattenValidationErrors(errors)),
} as const;

/** The types Nest's ValidationPipe never validates (its `toValidate`): their values pass as they are. */
const NOT_VALIDATED = new Set<unknown>([String, Boolean, Number, Array, Object, Buffer, Date]);

/**
 * The global ValidationPipe, preceded by one shape check for every DTO ({@link shapeFlaws}): an
 * array where a nested object belongs, or an object where an array of them does, is 400
 * `validation_failed` naming the element, before class-transformer and class-validator see it.
 *
 * For a body, a query or path parameters it skips two walks of Nest's pipe that look for what such
 * input cannot hold: sparse arrays and binary values. JSON is the only body type (JSON.parse makes
 * neither), a query string and path parameters are strings and dense arrays of strings. That is
 * about a third of the pipe's CPU per request. A custom decorator's value is never validated (as
 * in Nest's pipe without `validateCustomDecorators`): it is given back at once.
 *
 * A whole body, query or set of path parameters whose DTO has a fast acceptance
 * ({@link registerFastAccept}) is first offered to it: the DTO it builds is returned as it is,
 * without class-transformer and class-validator (a one-event ingest body: 20.6 -> 2.4 us in an in-process A/B);
 * anything it does not accept goes through the full checks below, which make every refusal.
 */
class PlatformValidationPipe extends ValidationPipe {
  /** Set while Nest's transform runs its synchronous part on parsed input (body, query, path). */
  private parsedInput = false;

  constructor(private readonly fastAccept: boolean) {
    super(VALIDATION_OPTIONS);
  }

  /**
   * A custom decorator's value, and a named path parameter of a type Nest's pipe does not validate
   * (string, number...), are given back as Nest's pipe gives them (`transformPrimitive`), without
   * its async wrappers and the array its `toValidate` builds per call: every route pays this per
   * parameter (`@TenantPrincipal()`, `@UuidParam()`). Anything else takes {@link validated}.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- PipeTransform's own return type (a value or a promise); ValidationPipe narrowed it to a promise
  override transform(value: unknown, metadata: ArgumentMetadata): any {
    if (
      metadata.type === 'custom' ||
      (metadata.type === 'param' && metadata.data && (!metadata.metatype || NOT_VALIDATED.has(metadata.metatype)))
    )
      return this.transformPrimitive(value, metadata);
    return this.validated(value, metadata);
  }

  /** Nest's transform, preceded by the shape check and with the parsed-input walks skipped (see the class). */
  private async validated(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const location = locationOfParameter(metadata.type);
    if (location && !metadata.data) {
      const accept = this.fastAccept ? fastAcceptOf(metadata.metatype) : undefined;
      const accepted = accept?.(value);
      if (accepted !== undefined) return accepted;
      const flaws = shapeFlaws(metadata.metatype, value);
      if (flaws.length > 0)
        throw new RequestValidationException(flaws.map((f) => ({ path: f.path, in: location, messages: [f.message] })));
    }
    // Both walks run before Nest's transform first awaits: the flag covers this call only.
    this.parsedInput = location !== undefined;
    try {
      return super.transform(value, metadata);
    } finally {
      this.parsedInput = false;
    }
  }

  protected override closeArrayGaps(value: unknown): void {
    if (!this.parsedInput) super.closeArrayGaps(value);
  }

  protected override findNestedBinaryValues(...args: Parameters<ValidationPipe['findNestedBinaryValues']>) {
    return this.parsedInput ? [] : super.findNestedBinaryValues(...args);
  }
}

/**
 * Builds the platform's global ValidationPipe.
 * @param options.fastAccept false: never use the DTOs' fast acceptances (the reference their specs compare them with); default true
 */
export function createValidationPipe(options: { fastAccept?: boolean } = {}): PipeTransform {
  return new PlatformValidationPipe(options.fastAccept ?? true);
}

/**
 * A UUID v4 path parameter (default `id`): anything else is 400 `validation_failed`, never a
 * database error or a 500.
 */
export const UuidParam = (name = 'id'): ParameterDecorator => Param(name, new ParseUUIDPipe({ version: '4' }));
