import type { FastifyInstance } from 'fastify';
import { ProblemException } from './problem.exception';

/**
 * Makes JSON the only body type, and replaces Fastify's JSON body parser with the same parser (prototype and constructor poisoning
 * refused) that fails with a problem the client can act on (`malformed_body`), instead of a
 * framework message. Call before the application initialises.
 */
export function registerJsonBodyParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  // JSON only: any other body type is 415, not a confusing validation error.
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Kept for signature checks over the exact bytes received (webhooks); a reference, no copy.
    request.rawBody = body as string;
    // The callback form: it returns nothing to await (the parser's type also admits a promise form).
    void parse(request, body as string, (err, value) => {
      if (err) done(new ProblemException(400, 'malformed_body', 'The request body is not valid JSON.'), undefined);
      else done(null, value);
    });
  });
}
