import { applyDecorators, CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata, UseInterceptors } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { tap, type Observable } from 'rxjs';
import { requestState } from '@platform/http';

const AUDITED_EVENT = 'platform:audited-event';

/** Event names: lowercase dotted segments, the first naming the app (`billing.invoice.created`). */
const EVENT_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;

/** How a domain event finds the id of the resource it is about. */
export interface AuditedOptions {
  /**
   * Picks the resource id from the handler's result and the route parameters. Default: the
   * result's `id`, else the `id` route parameter.
   */
  resourceId?: (result: unknown, params: Record<string, string>) => string | number | null | undefined;
}

interface AuditedEvent extends AuditedOptions {
  name: string;
}

/**
 * Declares that a successful call of this handler is the domain event `name`: the audit trail
 * gets, beside the request's access record, an `event` record with the event name, the resource
 * id and the same subject, client, tenant, request id and trace id. Written only when the
 * response status is below 400. Costs nothing on routes without it.
 *
 * @example `@Audited('billing.invoice.created')` on `POST /billing/invoices`
 * @throws Error at start-up (decoration time) for a name that is not dotted lowercase
 */
export function Audited(name: string, options: AuditedOptions = {}): MethodDecorator {
  if (!EVENT_NAME.test(name)) throw new Error(`@Audited("${name}"): event names are dotted lowercase, starting with the app (billing.invoice.created)`);
  return applyDecorators(SetMetadata(AUDITED_EVENT, { name, ...options } satisfies AuditedEvent), UseInterceptors(AuditedEventInterceptor));
}

function defaultResourceId(result: unknown, params: Record<string, string>): string | number | null | undefined {
  const id = (result as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : params?.id;
}

/** Notes the handler's domain event on the request; the audit hook writes it once the response succeeded. */
@Injectable()
export class AuditedEventInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const event = this.reflector.get<AuditedEvent | undefined>(AUDITED_EVENT, context.getHandler());
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return next.handle().pipe(
      tap((result) => {
        if (!event) return;
        const params = (request.params ?? {}) as Record<string, string>;
        const id = (event.resourceId ?? defaultResourceId)(result, params);
        const state = requestState(request);
        (state.events ??= []).push({ name: event.name, resourceId: id === null || id === undefined ? null : String(id) });
      }),
    );
  }
}
