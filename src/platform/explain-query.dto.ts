import { Transform } from 'class-transformer';
import { IsArray, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';

const list = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : value;

/** Query of `GET /platform/authz/explain`. */
export class ExplainQuery {
  @IsString()
  @Length(1, 320)
  subject!: string;

  @IsString()
  @Matches(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/, {
    message: 'permission must be an exact app:resource:action',
  })
  permission!: string;

  /** Required for principals outside any tenant; tenant admins may only ask about their own. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  tenant?: string;

  @IsOptional()
  @IsIn(['user', 'service'])
  type?: 'user' | 'service';

  /**
   * The agent's client id when an agent acts for the (user) subject (RFC 8693 delegation): the
   * answer is what both may do, as the guard decides it.
   */
  @IsOptional()
  @IsString()
  @Length(1, 320)
  actor?: string;

  /** Roles the subject's token carries (comma-separated), when known: the platform keeps no tokens. */
  @IsOptional()
  @Transform(list)
  @IsArray()
  @IsString({ each: true })
  roles?: string[];

  /** Scopes of a machine's token (comma-separated). */
  @IsOptional()
  @Transform(list)
  @IsArray()
  @IsString({ each: true })
  scopes?: string[];
}
