import { Injectable } from '@nestjs/common';
import type { Principal } from '@platform/auth';
import { InvalidRequestError } from '@platform/http';
import type { EventCount, EventCountsQuery, IngestEventsInput } from './event.dto';
import { EventsRepository } from './events.repository';

@Injectable()
export class EventsService {
  constructor(private readonly repository: EventsRepository) {}

  /** Stores a validated batch, attributed to the caller. @returns how many events were accepted */
  async ingest(principal: Principal, input: IngestEventsInput): Promise<{ accepted: number }> {
    await this.repository.insertMany(
      input.events.map((event) => ({
        tenant: principal.tenant as string,
        name: event.name,
        occurredAt: new Date(event.timestamp),
        properties: event.properties ?? {},
        subject: principal.subject,
        clientId: principal.clientId,
      })),
    );
    return { accepted: input.events.length };
  }

  /** @throws InvalidRequestError `invalid_time_range` when `from` is after `to` */
  async counts(principal: Principal, query: EventCountsQuery): Promise<{ counts: EventCount[] }> {
    const from = query.from ? new Date(query.from) : undefined;
    const to = query.to ? new Date(query.to) : undefined;
    if (from && to && from > to) throw new InvalidRequestError('invalid_time_range', '"from" must not be after "to".');
    const counts = await this.repository.countByName(principal.tenant as string, { name: query.name, from, to });
    return { counts: counts.map((c) => ({ name: c.name, count: Number(c.count) })) };
  }
}
