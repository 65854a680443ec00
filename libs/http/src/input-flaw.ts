// The shapes of a refused input, apart from the checks that find them (input-hygiene, shape-check) so
// that neither imports the other.

/** Where a refused value was: OpenAPI's parameter locations, plus the body. */
export type InputLocation = 'body' | 'query' | 'path' | 'header';

/** One refused value: its dotted path (`lines.0.description`; `''` for the root) and why. */
export interface InputFlaw {
  path: string;
  message: string;
}
