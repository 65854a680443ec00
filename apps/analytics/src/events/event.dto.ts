import { Type } from 'class-transformer';
import { isPlainJson, IsRfc3339DateTime, isRfc3339DateTime, registerFastAccept } from '@platform/http';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  ValidateNested,
} from 'class-validator';

/** Most events accepted in one batch (a larger batch is refused whole with 400). */
export const MAX_EVENTS_PER_BATCH = 1000;

const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

export class EventInput {
  /** Event name: 1-100 of letters, digits, `_ . : -`. */
  @Matches(EVENT_NAME, { message: 'name must be 1-100 characters of letters, digits, _ . : -' })
  name!: string;

  /** When it happened: an RFC 3339 date-time with a zone, e.g. `2026-11-30T12:00:00Z`. */
  @IsRfc3339DateTime()
  timestamp!: string;

  /** Free-form JSON object, at most {@link MAX_PROPERTIES_BYTES} serialized. */
  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;

  /** The end user the event is about (counted by unique users); default: the sender. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  userId?: string;
}

/** Largest `properties` object of one event, serialized as JSON, in bytes. */
export const MAX_PROPERTIES_BYTES = 8 * 1024;
/** How far in the future an event's timestamp may be (clock skew), in milliseconds. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** Body of `POST /analytics/events`: written all or nothing. */
export class IngestEventsInput {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_EVENTS_PER_BATCH)
  @ValidateNested({ each: true })
  @Type(() => EventInput)
  events!: EventInput[];
}

/** The keys an event may have: any other is refused (`forbidNonWhitelisted`). */
const EVENT_KEYS = new Set(['name', 'timestamp', 'properties', 'userId']);
/** A `userId` that `@IsString() @Length(1, 200)` accepts, whatever the counting: no surrogates nor variation selectors. */
const PLAIN_USER_ID = /^[^\ud800-\uffff]{1,200}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** One event as {@link EventInput} when it is valid for sure, else undefined (the full checks decide). */
function eventIfValid(value: unknown): EventInput | undefined {
  if (!isPlainObject(value)) return undefined;
  const event = new EventInput();
  for (const key in value) {
    if (!EVENT_KEYS.has(key) || !Object.hasOwn(value, key)) return undefined;
    (event as unknown as Record<string, unknown>)[key] = value[key];
  }
  if (typeof event.name !== 'string' || !EVENT_NAME.test(event.name)) return undefined;
  if (!isRfc3339DateTime(event.timestamp)) return undefined;
  if (event.properties !== undefined && !(isPlainObject(event.properties) && isPlainJson(event.properties)))
    return undefined;
  if (event.userId !== undefined && !(typeof event.userId === 'string' && PLAIN_USER_ID.test(event.userId)))
    return undefined;
  return event;
}

/**
 * The ingest body built directly when every rule above holds for sure (the write's hot path:
 * class-transformer and class-validator cost about 18 us per one-event body): the same instances and
 * values as the full checks make, which decide everything else (see `registerFastAccept`).
 */
export function ingestBodyIfValid(value: unknown): IngestEventsInput | undefined {
  if (!isPlainObject(value)) return undefined;
  for (const key in value) if (key !== 'events' || !Object.hasOwn(value, key)) return undefined;
  const source = value.events;
  if (!Array.isArray(source) || source.length < 1 || source.length > MAX_EVENTS_PER_BATCH) return undefined;
  const events: EventInput[] = [];
  for (let i = 0; i < source.length; i++) {
    const event = i in source ? eventIfValid(source[i]) : undefined;
    if (!event) return undefined;
    events.push(event);
  }
  const input = new IngestEventsInput();
  input.events = events;
  return input;
}

registerFastAccept(IngestEventsInput, ingestBodyIfValid);

/** Query of `GET /analytics/events/counts`; `from` inclusive, `to` exclusive. */
export class EventCountsQuery {
  @IsOptional()
  @Matches(EVENT_NAME)
  name?: string;

  @IsOptional()
  @IsRfc3339DateTime()
  from?: string;

  @IsOptional()
  @IsRfc3339DateTime()
  to?: string;
}

export interface EventCount {
  name: string;
  count: number;
  /** Distinct `userId`s (the sender when an event names none). */
  uniqueUsers: number;
}

/** Query of `GET /analytics/events/series`: one event name, a bounded range, hour or day buckets (UTC). */
export class EventSeriesQuery {
  @Matches(EVENT_NAME)
  name!: string;

  @IsRfc3339DateTime()
  from!: string;

  @IsRfc3339DateTime()
  to!: string;

  @IsIn(['hour', 'day'])
  interval!: 'hour' | 'day';
}

/** One bucket of a series: its start (UTC), the events in it and their distinct users. */
export interface EventBucket {
  start: string;
  count: number;
  uniqueUsers: number;
}

/** Query of `GET /analytics/usage`: `from` inclusive, `to` exclusive. */
export class UsageQuery {
  @IsRfc3339DateTime()
  from!: string;

  @IsRfc3339DateTime()
  to!: string;
}
