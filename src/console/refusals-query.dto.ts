import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { IsRfc3339DateTime } from '@platform/http';

/** Dimensions refusals can be grouped by (columns of the audit record). */
export const REFUSAL_DIMENSIONS = ['route', 'reason', 'permission', 'principalType', 'app', 'subject'] as const;
export type RefusalDimension = (typeof REFUSAL_DIMENSIONS)[number];

/** Query of `GET /platform/audit/refusals`: denials in a window, grouped, counted per time bucket. */
export class RefusalsQuery {
  @IsOptional()
  @IsIn(REFUSAL_DIMENSIONS)
  groupBy?: RefusalDimension;

  /** Window start (RFC 3339); default: 24 hours before `to`. */
  @IsOptional()
  @IsRfc3339DateTime()
  from?: string;

  /** Window end, exclusive (RFC 3339); default: now. */
  @IsOptional()
  @IsRfc3339DateTime()
  to?: string;

  /** Number of equal time buckets the window is cut into, 2-96 (default 24). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(96)
  buckets?: number;

  /** Only for principals holding `platform:audit:read-all`. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  tenant?: string;
}

/** Query of `GET /platform/audit/refusals/records`: the denials of one group of the chart. */
export class RefusalRecordsQuery extends RefusalsQuery {
  /** The group's key as `GET /platform/audit/refusals` returned it. */
  @IsString()
  @Length(0, 400)
  key!: string;
}
