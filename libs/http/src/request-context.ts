import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The request a piece of code runs for, as {@link currentRequest} returns it. */
export interface RequestContext {
  request: FastifyRequest;
  reply: FastifyReply;
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * Runs `next` (a Fastify hook's `done`, which goes on to the guard, interceptors and handler) with
 * `request` as the current request of everything it calls, synchronously or asynchronously.
 * Registered as a `preHandler` hook (after body parsing, whose stream events would lose it).
 */
export function runInRequestContext(request: FastifyRequest, reply: FastifyReply, next: () => void): void {
  storage.run({ request, reply }, next);
}

/**
 * The HTTP request the calling code serves, for code that has to describe it from deep inside a
 * service (a domain event written in the service's transaction, an idempotency key completed
 * there). Undefined outside a request (start-up, timers, background jobs).
 */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}
