import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import { IsCurrency, MAX_AMOUNT_MINOR } from '../money';
import type { PlanRow } from './plan.schema';

/** Body of `POST /billing/plans` (platform operators). */
export class CreatePlanInput {
  @ApiProperty({ description: 'Stable code, lowercase letters, digits and dashes', example: 'pro-monthly' })
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'code must be lowercase letters, digits and dashes (at most 63)' })
  code!: string;

  @ApiProperty({ example: 'Pro (monthly)' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ description: 'ISO 4217 code in capitals', example: 'EUR' })
  @IsCurrency()
  currency!: string;

  @ApiProperty({ description: 'Price per interval, in minor units of the currency (e.g. cents)', example: 4900 })
  @IsInt()
  @Min(0)
  @Max(MAX_AMOUNT_MINOR)
  amount!: number;

  @ApiProperty({ enum: ['month', 'year'] })
  @IsIn(['month', 'year'])
  interval!: 'month' | 'year';
}

/** A plan as the API returns it; `amount` in minor units. */
export interface PlanDto {
  id: string;
  code: string;
  name: string;
  currency: string;
  amount: number;
  interval: 'month' | 'year';
  active: boolean;
  createdAt: string;
}

export function toPlanDto(row: PlanRow): PlanDto {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    currency: row.currency,
    amount: row.amountMinor,
    interval: row.interval,
    active: row.active,
    createdAt: row.createdAt.toISOString(),
  };
}
