import { Type } from 'class-transformer';
import { AUDIT_OUTCOMES, type AuditOutcome } from '@platform/audit';
import { IsRfc3339DateTime } from '@platform/http';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

/** Filters of `GET /platform/audit` and `GET /platform/audit/export`; all optional, combined with AND. */
export class AuditFilterInput {
  @IsOptional()
  @IsIn(['access', 'event'])
  kind?: 'access' | 'event';

  @IsOptional()
  @IsIn(['allow', 'deny'])
  decision?: 'allow' | 'deny';

  /** What the request finally got, apart from the decision (`refused`: allowed, then refused by the handler). */
  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;

  @IsOptional()
  @IsString()
  @Length(1, 320)
  subject?: string;

  /** The acting OAuth client (`client_id` / `azp`). */
  @IsOptional()
  @IsString()
  @Length(1, 320)
  client?: string;

  /** Records where this subject (an agent's client) acted for someone, anywhere in the delegation chain. */
  @IsOptional()
  @IsString()
  @Length(1, 320)
  actor?: string;

  @IsOptional()
  @IsString()
  @Length(1, 100)
  app?: string;

  /** Only for principals holding `platform:audit:read-all`. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  tenant?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(599)
  status?: number;

  @IsOptional()
  @IsString()
  @Length(1, 128)
  requestId?: string;

  /** W3C trace id, 32 lowercase hex digits. */
  @IsOptional()
  @Matches(/^[0-9a-f]{32}$/)
  traceId?: string;

  /** Domain event name, e.g. `billing.invoice.created`. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  event?: string;

  /** Records at or after this instant (RFC 3339, e.g. `2026-11-30T00:00:00Z`). */
  @IsOptional()
  @IsRfc3339DateTime()
  from?: string;

  /** Records before this instant (exclusive). */
  @IsOptional()
  @IsRfc3339DateTime()
  to?: string;
}

/** One page of the audit trail. */
export class AuditPageInput extends AuditFilterInput {
  /** Page size, 1-500 (default 100). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  /** `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @Matches(/^[1-9][0-9]{0,15}$/, { message: 'cursor must be a nextCursor this API returned' })
  cursor?: string;
}
