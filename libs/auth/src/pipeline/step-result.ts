import type { Refusal } from './refusal';

/** A step's refusal: the request stops here, answered as {@link Refusal} says. */
export interface Refused {
  ok: false;
  refusal: Refusal;
}

/** What one step of the guard's pipeline proved (`value`), or why it refused the request. */
export type StepResult<T> = { ok: true; value: T } | Refused;

/** A passed step carrying what it established. */
export function passed<T>(value: T): StepResult<T> {
  return { ok: true, value };
}

/** A refused step. */
export function refused(refusal: Refusal): Refused {
  return { ok: false, refusal };
}
