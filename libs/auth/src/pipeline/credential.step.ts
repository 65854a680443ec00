import type { FastifyRequest } from 'fastify';
import { parseAuthorization, type PresentedToken } from '../bearer';
import { passed, refused, type StepResult } from './step-result';
import { tokenRefusal } from './token-refusal';

/** Every value of one request header, as received: Node joins or drops repeated headers, the raw list does not. */
export function headerValues(request: FastifyRequest, name: string): string[] {
  const raw = request.raw.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i].length === name.length && raw[i].toLowerCase() === name) values.push(raw[i + 1]);
  return values;
}

/**
 * Step 1, credential: the access token and its scheme from the `Authorization` header (Bearer or
 * DPoP). Refuses with 401 (`missing_token`, `unsupported_scheme`, `malformed_authorization`,
 * `malformed_token`), offering both schemes when no credential was sent.
 */
export function readCredential(request: FastifyRequest): StepResult<PresentedToken> {
  // Node keeps only the first of repeated Authorization headers: refuse them instead, so that a
  // proxy and the platform can never read different tokens from one request.
  const authorization = headerValues(request, 'authorization');
  try {
    return passed(parseAuthorization(authorization.length > 1 ? authorization : request.headers.authorization));
  } catch (err) {
    return refused(tokenRefusal(err, undefined));
  }
}
