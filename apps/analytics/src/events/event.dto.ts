import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsISO8601, IsObject, IsOptional, Matches, ValidateNested } from 'class-validator';

/** Most events accepted in one batch (a larger batch is refused whole with 400). */
export const MAX_EVENTS_PER_BATCH = 1000;

const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

export class EventInput {
  /** Event name: 1-100 of letters, digits, `_ . : -`. */
  @Matches(EVENT_NAME, { message: 'name must be 1-100 characters of letters, digits, _ . : -' })
  name!: string;

  /** When it happened: an ISO 8601 date-time with a zone, e.g. `2026-11-30T12:00:00Z`. */
  @IsISO8601({ strict: true, strictSeparator: true })
  timestamp!: string;

  /** Free-form JSON object. */
  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;
}

/** Body of `POST /analytics/events`: written all or nothing. */
export class IngestEventsInput {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_EVENTS_PER_BATCH)
  @ValidateNested({ each: true })
  @Type(() => EventInput)
  events!: EventInput[];
}

/** Query of `GET /analytics/events/counts`; `from` inclusive, `to` exclusive. */
export class EventCountsQuery {
  @IsOptional()
  @Matches(EVENT_NAME)
  name?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export interface EventCount {
  name: string;
  count: number;
}
