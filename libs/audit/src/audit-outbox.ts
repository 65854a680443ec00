import { Injectable } from '@nestjs/common';
import { requestState, type ServedRequest } from '@platform/http';
import { AppRegistry } from '@platform/feature-apps';
import type { Db } from '@platform/database';
import { auditOutbox } from './audit-outbox.schema';
import { auditRowFor, eventRowFor } from './audit-hooks';
import { AuditWriter } from './audit-writer';
import { auditedEventOf, successStatusOf } from './audited.decorator';

/** What {@link AuditOutbox.record} writes. */
export interface OutboxEvent {
  /** Id of the resource the event is about (e.g. the new invoice's id); null when none. */
  resourceId: string | number | null;
  /** Event name; default: the one the route declares with `@Audited()`. */
  event?: string;
  /** Tenant the event belongs to, for requests without one (a signed webhook). */
  tenant?: string;
}

/**
 * Writes a request's domain event in the transaction of the change it describes (transactional
 * outbox): committed with the change or not at all, so a crash between the commit and the
 * response loses neither. A service calls it with its transaction, before commit, and the request
 * its controller took with `@Served()` (from `@platform/http`):
 *
 * ```ts
 * await this.database.db.transaction(async (tx) => { const row = ...; await this.outbox.record(tx, { resourceId: row.id }, served); });
 * ```
 *
 * The record has the same ids and actor as the request's access record, the status the route
 * answers on success (`@HttpCode()`), and the duration so far. The response hooks then write no
 * second event for the request. The audit writer moves committed rows into the hash chain (see
 * `audit_outbox`). Routes whose services do not call it keep the event written after the response.
 */
@Injectable()
export class AuditOutbox {
  constructor(
    private readonly router: AppRegistry,
    private readonly writer: AuditWriter,
  ) {}

  /**
   * @param tx the transaction of the change (a Drizzle transaction or database handle)
   * @param served the request the change is made for (`@Served()` in its controller)
   * @throws Error without a request, or when neither `event` nor the route's `@Audited()` names the event (programming errors)
   */
  async record(tx: Db, event: OutboxEvent, served: ServedRequest): Promise<void> {
    if (!served?.request) throw new Error('AuditOutbox.record() needs the request it serves (@Served())');
    const { request, reply } = served;
    const declared = auditedEventOf(request);
    const name = event.event ?? declared?.name;
    if (!name)
      throw new Error(
        `AuditOutbox.record(): ${request.method} ${request.routeOptions?.url} declares no @Audited() event and none was given`,
      );
    const access = auditRowFor(request, reply, this.router);
    access.status = declared ? successStatusOf(declared, request.method) : 200;
    const row = eventRowFor(access, name, event.resourceId === null ? null : String(event.resourceId), event.tenant);
    await tx.insert(auditOutbox).values({ record: row });
    requestState(request).eventInTransaction = true;
    this.writer.outboxWritten();
  }
}
