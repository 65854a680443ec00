import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import type { ServiceAccountRow } from '@platform/auth';

/** Body of `POST /service-accounts`. */
export class RegisterServiceAccountInput {
  @ApiProperty({ description: 'What the machine is, for people', example: 'Nightly import job' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({
    description: 'OAuth scopes the client may use (each one must only grant permissions you hold)',
    example: ['analytics:events:write'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  scopes!: string[];

  @ApiPropertyOptional({
    description:
      "An existing client's id at an external identity provider (required then; the development provider creates the client itself)",
  })
  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,255}$/, { message: 'clientId must be 1-255 visible ASCII characters' })
  clientId?: string;
}

/** Body of `POST /service-accounts/:id/scopes`: the scopes the client may use from now on. */
export class SetServiceAccountScopesInput {
  @ApiProperty({ example: ['analytics:events:write'] })
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  scopes!: string[];
}

/** A service account as the API returns it; `clientSecret` only once, in the response that created the client. */
export interface ServiceAccountDto {
  id: string;
  name: string;
  clientId: string;
  scopes: string[];
  status: 'active' | 'deactivated';
  createdBy: string;
  createdAt: string;
  clientSecret?: string;
}

export function toServiceAccountDto(row: ServiceAccountRow, clientSecret?: string): ServiceAccountDto {
  return {
    id: row.id,
    name: row.name,
    clientId: row.clientId,
    scopes: row.scopes,
    status: row.status,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    ...(clientSecret !== undefined && { clientSecret }),
  };
}
