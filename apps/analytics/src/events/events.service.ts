import { Injectable } from '@nestjs/common';
import type { TenantPrincipal } from '@platform/auth';
import { InvalidRequestError } from '@platform/http';
import {
  MAX_FUTURE_SKEW_MS,
  MAX_PROPERTIES_BYTES,
  type EventBucket,
  type EventCount,
  type EventCountsQuery,
  type EventSeriesQuery,
  type IngestEventsInput,
} from './event.dto';
import { EventsRepository } from './events.repository';

/** Longest range of a series, in milliseconds, per bucket size (bounds the answer: 744 hours, 366 days). */
const MAX_SERIES_RANGE_MS = { hour: 31 * 24 * 3600 * 1000, day: 366 * 24 * 3600 * 1000 } as const;

/** Product events of the caller's tenant: batched ingestion and counts. */
@Injectable()
export class EventsService {
  constructor(private readonly repository: EventsRepository) {}

  /**
   * Stores a validated batch, attributed to the caller, whole or not at all.
   * @returns how many events were accepted
   * @throws InvalidRequestError `invalid_events` listing `{ index, reason }` of every refused event
   *   (`timestamp_in_future`, `properties_too_large`); nothing is written then
   */
  async ingest(principal: TenantPrincipal, input: IngestEventsInput): Promise<{ accepted: number }> {
    const latest = Date.now() + MAX_FUTURE_SKEW_MS;
    const invalidEvents = input.events.flatMap((event, index) => {
      const reasons: string[] = [];
      if (new Date(event.timestamp).getTime() > latest) reasons.push('timestamp_in_future');
      if (event.properties && Buffer.byteLength(JSON.stringify(event.properties)) > MAX_PROPERTIES_BYTES)
        reasons.push('properties_too_large');
      return reasons.map((reason) => ({ index, reason }));
    });
    if (invalidEvents.length > 0) {
      throw new InvalidRequestError(
        'invalid_events',
        `${invalidEvents.length} event(s) of the batch are refused; nothing was stored.`,
        { invalidEvents },
      );
    }
    await this.repository.insertMany(
      input.events.map((event) => ({
        tenant: principal.tenant,
        name: event.name,
        occurredAt: new Date(event.timestamp),
        properties: event.properties ?? {},
        subject: principal.subject,
        userId: event.userId ?? null,
        clientId: principal.clientId,
      })),
    );
    return { accepted: input.events.length };
  }

  /** @throws InvalidRequestError `invalid_time_range` when `from` is after `to` */
  async counts(principal: TenantPrincipal, query: EventCountsQuery): Promise<{ counts: EventCount[] }> {
    const from = query.from ? new Date(query.from) : undefined;
    const to = query.to ? new Date(query.to) : undefined;
    if (from && to && from > to) throw new InvalidRequestError('invalid_time_range', '"from" must not be after "to".');
    const counts = await this.repository.countByName(principal.tenant, { name: query.name, from, to });
    return {
      counts: counts.map((c) => ({ name: c.name, count: Number(c.count), uniqueUsers: Number(c.uniqueUsers) })),
    };
  }

  /**
   * Counts and distinct users of one event per UTC hour or day; buckets without events are left out.
   * @throws InvalidRequestError `invalid_time_range` (`from` not before `to`, or longer than 31 days of hours / 366 days of days)
   */
  async series(
    principal: TenantPrincipal,
    query: EventSeriesQuery,
  ): Promise<{ name: string; interval: 'hour' | 'day'; buckets: EventBucket[] }> {
    const from = new Date(query.from);
    const to = new Date(query.to);
    if (from >= to || to.getTime() - from.getTime() > MAX_SERIES_RANGE_MS[query.interval]) {
      throw new InvalidRequestError(
        'invalid_time_range',
        `"from" must be before "to", at most ${query.interval === 'hour' ? '31 days' : '366 days'} apart.`,
      );
    }
    const rows = await this.repository.series(principal.tenant, query.name, from, to, query.interval);
    return {
      name: query.name,
      interval: query.interval,
      buckets: rows.map((r) => ({ start: r.start.toISOString(), count: r.count, uniqueUsers: r.uniqueUsers })),
    };
  }
}
