import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';
import type { SubscriptionRow } from './subscription.schema';

/** Body of `POST /billing/subscriptions`: subscribes the caller's tenant. */
export class CreateSubscriptionInput {
  @ApiProperty({ description: 'An active plan', format: 'uuid' })
  @IsUUID('4')
  planId!: string;
}

/** A subscription as the API returns it. */
export interface SubscriptionDto {
  id: string;
  planId: string;
  status: 'active' | 'canceled';
  createdBy: string;
  createdAt: string;
  canceledAt: string | null;
}

export function toSubscriptionDto(row: SubscriptionRow): SubscriptionDto {
  return {
    id: row.id,
    planId: row.planId,
    status: row.status,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    canceledAt: row.canceledAt?.toISOString() ?? null,
  };
}
