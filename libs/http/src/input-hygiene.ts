import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { Problem } from './problem';
import { isStorableInstant } from './rfc3339';
import type { InputFlaw, InputLocation } from './input-flaw';
import { RequestValidationException } from './validation';

/** Bounds on the shape of any input, whatever the route. */
export interface InputLimits {
  /** Deepest nesting of objects and arrays (the root container is depth 1). */
  maxDepth: number;
  /** Most keys of one object or elements of one array. */
  maxEntries: number;
}

/**
 * 32 levels is far beyond any DTO of the platform (the deepest, an event's free-form properties,
 * sits at depth 4) and far below what makes recursive code (class-transformer, class-validator,
 * JSON.stringify) run out of stack. 10,000 entries is ten times the largest batch (1,000 events).
 */
export const INPUT_LIMITS: InputLimits = { maxDepth: 32, maxEntries: 10_000 };

const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
const SURROGATE_MESSAGE = 'must be well-formed Unicode (it contains a lone UTF-16 surrogate)';
const INSTANT_MESSAGE = 'names an instant outside 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z';
/** A string shaped like an ISO 8601 / RFC 3339 date-time (a date, then `T` or a space, then a time). */
const DATE_TIME_SHAPE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}/;
const MAX_PATH_LENGTH = 200;

/**
 * Why a string cannot be taken as text by the platform, or undefined when it can: NUL (PostgreSQL
 * `text` and `jsonb` refuse it), a lone UTF-16 surrogate (not Unicode: stored, it comes back as
 * U+FFFD), or a date-time whose instant PostgreSQL and JavaScript cannot both hold (year 0000, or
 * an offset that moves a year-1 time into year 0). Pure; O(length).
 */
export function stringFlaw(value: string, instants = true): string | undefined {
  if (value.indexOf('\u0000') !== -1) return NUL_MESSAGE;
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) return SURROGATE_MESSAGE;
  if (instants && value.length >= 16 && value.charCodeAt(4) === 45 && DATE_TIME_SHAPE.test(value)) {
    const ms = Date.parse(value);
    // Unparseable shapes (a February 30) are each DTO's to refuse with its own message.
    if (value.startsWith('0000') || (!Number.isNaN(ms) && !isStorableInstant(ms))) return INSTANT_MESSAGE;
  }
  return undefined;
}

/** A key as it appears in a path: control characters escaped, so a path never carries NUL itself. */
function pathKey(key: string): string {
  return /^[\w$:.@-]*$/.test(key) ? key : JSON.stringify(key).slice(1, -1);
}

function join(parent: string, key: string): string {
  const path = parent === '' ? key : `${parent}.${key}`;
  return path.length > MAX_PATH_LENGTH ? `${path.slice(0, MAX_PATH_LENGTH)}...` : path;
}

/**
 * Walks a parsed input (a JSON body, the query, the path parameters) and returns the
 * a value the platform must refuse whatever the route (scalars of a container before its children): a string or key with a
 * {@link stringFlaw}, nesting deeper than `limits.maxDepth`, or a container with more than
 * `limits.maxEntries` entries. Iterative, so any depth is safe to walk; stops at the first flaw.
 *
 * @param instants false to check text only (NUL, surrogates), not date-time strings' range
 */
export function findInputFlaw(
  value: unknown,
  limits: InputLimits = INPUT_LIMITS,
  instants = true,
): InputFlaw | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value: current, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    if (typeof current === 'string') {
      const message = stringFlaw(current, instants);
      if (message) return { path, message };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limits.maxDepth) return { path, message: `nests deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(current)) {
      if (current.length > limits.maxEntries) return { path, message: `has more than ${limits.maxEntries} elements` };
      // Scalars are checked in place (paths are built only for a flaw); containers wait on the stack, in order.
      for (let i = 0; i < current.length; i++) {
        const element: unknown = current[i];
        if (typeof element === 'string') {
          const message = stringFlaw(element, instants);
          if (message) return { path: join(path, String(i)), message };
        }
      }
      for (let i = current.length - 1; i >= 0; i--) {
        if (typeof current[i] === 'object' && current[i] !== null)
          stack.push({ value: current[i], path: join(path, String(i)), depth: depth + 1 });
      }
      continue;
    }
    const keys = Object.keys(current);
    if (keys.length > limits.maxEntries) return { path, message: `has more than ${limits.maxEntries} keys` };
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const keyFlaw = stringFlaw(key, instants);
      if (keyFlaw) return { path: join(path, pathKey(key)), message: `key ${keyFlaw}` };
      const value = (current as Record<string, unknown>)[key];
      if (typeof value === 'string') {
        const message = stringFlaw(value, instants);
        if (message) return { path: join(path, pathKey(key)), message };
      }
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const value = (current as Record<string, unknown>)[keys[i]];
      if (typeof value === 'object' && value !== null)
        stack.push({ value, path: join(path, pathKey(keys[i])), depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * The first flaw of a request, with where it was: path parameters, query, then body. Headers
 * need no walk: Node's HTTP parser refuses NUL in a header (400 before any request exists) and
 * reads values as latin-1, where no surrogate can occur; no header is read as a date-time.
 */
export function requestInputFlaw(
  request: Pick<FastifyRequest, 'params' | 'query' | 'body'>,
  limits: InputLimits = INPUT_LIMITS,
): (InputFlaw & { in: InputLocation }) | undefined {
  const params =
    request.params === undefined || request.params === null ? undefined : findInputFlaw(request.params, limits);
  if (params) return { ...params, in: 'path' };
  const query =
    request.query === undefined || request.query === null ? undefined : findInputFlaw(request.query, limits);
  if (query) return { ...query, in: 'query' };
  const body = request.body === undefined || request.body === null ? undefined : findInputFlaw(request.body, limits);
  return body ? { ...body, in: 'body' } : undefined;
}

/** The 400 `validation_failed` answer for a flaw: its path and location, never the value itself. */
export function inputFlawException(flaw: InputFlaw & { in: InputLocation }): RequestValidationException {
  const errors: NonNullable<Problem['errors']> = [
    {
      path: flaw.path,
      in: flaw.in,
      messages: [flaw.path ? `${flaw.path} ${flaw.message}` : `the ${flaw.in} ${flaw.message}`],
    },
  ];
  return new RequestValidationException(errors);
}

/**
 * Input hygiene for every route, once: a Fastify `preValidation` hook (after the body is parsed,
 * before the guard, pipes and handler) that refuses with 400 `validation_failed` any request
 * whose path parameters, query or JSON body holds NUL, a lone surrogate, an instant out
 * of range, nesting deeper than {@link INPUT_LIMITS}.maxDepth or a container larger than its
 * maxEntries; `errors[0]` names the field (`path`) and where it was (`in`). Call before the
 * application initialises.
 */
export function registerInputHygiene(fastify: FastifyInstance, limits: InputLimits = INPUT_LIMITS): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    const flaw = requestInputFlaw(request, limits);
    if (flaw) done(inputFlawException(flaw) as unknown as FastifyError);
    else done();
  });
}
