import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The HTTP request a piece of service code works for, passed to it explicitly: a controller takes
 * it with `@Served()` and hands it to the service, which passes it on to what has to describe the
 * request from inside its transaction (`AuditOutbox.record(tx, event, served)`,
 * `IdempotencyRepository.completeInTransaction(tx, body, served)`).
 *
 * Explicit rather than found through AsyncLocalStorage: on Node 20 an enabled AsyncLocalStorage
 * turns on promise hooks for every promise of the process (measured at several µs per request).
 */
export interface ServedRequest {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

/** The {@link ServedRequest} of a Nest execution context (what `@Served()` injects). */
export function servedRequestOf(_data: unknown, ctx: ExecutionContext): ServedRequest {
  const http = ctx.switchToHttp();
  return { request: http.getRequest<FastifyRequest>(), reply: http.getResponse<FastifyReply>() };
}

/**
 * Injects the {@link ServedRequest} into a controller method, for the service that writes the
 * request's domain event or completes its `Idempotency-Key` in its own transaction:
 *
 * ```ts
 * create(@TenantPrincipal() principal: TenantPrincipal, @Body() input: CreateInput, @Served() served: ServedRequest) {
 *   return this.service.create(principal, input, served);
 * }
 * ```
 */
export const Served = createParamDecorator(servedRequestOf);
