import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';

/** Key of the domain event in a route's Fastify config (`request.routeOptions.config`). */
export const AUDITED_EVENT_CONFIG = 'platformAuditedEvent';

/** Event names: lowercase dotted segments, the first naming the app (`billing.invoice.created`). */
const EVENT_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;

/** How a domain event finds the id of the resource it is about. */
export interface AuditedOptions {
  /**
   * Picks the resource id from the handler's result (undefined when it returned nothing) and the
   * route parameters. Default: the result's `id`, else the `id` route parameter.
   */
  resourceId?: (result: unknown, params: Record<string, string>) => string | number | null | undefined;
}

/** A route's declared domain event, as stored in its Fastify route config. */
export interface AuditedEvent extends AuditedOptions {
  name: string;
  /** The decorated handler, to read its `@HttpCode()` when the event is written inside its transaction. */
  handler?: object;
}

/**
 * Declares that a successful call of this handler is the domain event `name`: the audit trail
 * gets, beside the request's access record, an `event` record with the event name, the resource
 * id and the same subject, client, tenant, request id and trace id. Written only when the
 * response status is below 400.
 *
 * Stored in the route's Fastify config (not a Nest interceptor, which costs about 95 us per
 * request): the audit hooks read it, so routes without it pay nothing. It uses the route's
 * `@RouteConfig()`; do not combine the two on one handler.
 *
 * @example `@Audited('billing.invoice.created')` on `POST /billing/invoices`
 * @throws Error at start-up (decoration time) for a name that is not dotted lowercase
 */
export function Audited(name: string, options: AuditedOptions = {}): MethodDecorator {
  if (!EVENT_NAME.test(name))
    throw new Error(
      `@Audited("${name}"): event names are dotted lowercase, starting with the app (billing.invoice.created)`,
    );
  return (target, key, descriptor) => {
    const handler = descriptor.value as object | undefined;
    RouteConfig({ [AUDITED_EVENT_CONFIG]: { name, ...options, handler } satisfies AuditedEvent })(
      target,
      key,
      descriptor,
    );
  };
}

/** The status a successful call of the route answers: its `@HttpCode()`, else Nest's default (201 for POST, 200 otherwise). */
export function successStatusOf(event: AuditedEvent, method: string): number {
  const declared = event.handler
    ? (Reflect.getMetadata(HTTP_CODE_METADATA, event.handler) as number | undefined)
    : undefined;
  return declared ?? (method === 'POST' ? 201 : 200);
}

/** The domain event a request's route declares, if any. */
export function auditedEventOf(request: FastifyRequest): AuditedEvent | undefined {
  // The onRequest hook kept the route's config (each read of `routeOptions` builds a new object).
  const config = request.platform?.routeConfig ?? request.routeOptions?.config;
  return (config as unknown as Record<string, AuditedEvent | undefined> | undefined)?.[AUDITED_EVENT_CONFIG];
}

/** The resource id of a declared event, from the handler's result or the route parameters. */
export function resourceIdOf(event: AuditedEvent, result: unknown, params: Record<string, string>): string | null {
  let id: string | number | null | undefined;
  if (event.resourceId) {
    id = event.resourceId(result, params);
  } else {
    const fromResult = (result as { id?: unknown } | null | undefined)?.id;
    id = typeof fromResult === 'string' || typeof fromResult === 'number' ? fromResult : params?.id;
  }
  return id === null || id === undefined ? null : String(id);
}
