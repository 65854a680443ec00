import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { IsCurrency, MAX_AMOUNT_MINOR } from '../money';
import type { PaymentRow } from './payment.schema';

/** Body of `POST /billing/invoices/:id/payments` (with an `Idempotency-Key` header). */
export class RecordPaymentInput {
  @ApiProperty({ description: 'In minor units of the invoice currency; at most what is still unpaid', example: 3750 })
  @IsInt()
  @Min(1)
  @Max(MAX_AMOUNT_MINOR)
  amount!: number;

  @ApiProperty({ description: "The invoice's currency (ISO 4217)", example: 'EUR' })
  @IsCurrency()
  currency!: string;
}

/** A payment as the API returns it; `pending` until the payment provider settles it. */
export interface PaymentDto {
  id: string;
  invoiceId: string;
  amount: number;
  currency: string;
  status: 'pending' | 'settled' | 'failed';
  createdBy: string;
  createdAt: string;
  settledAt: string | null;
}

export function toPaymentDto(row: PaymentRow): PaymentDto {
  return {
    id: row.id,
    invoiceId: row.invoiceId,
    amount: row.amountMinor,
    currency: row.currency,
    status: row.status,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    settledAt: row.settledAt?.toISOString() ?? null,
  };
}
