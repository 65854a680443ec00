import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsCurrency, MAX_AMOUNT_MINOR } from '../money';
import type { InvoiceLineRow, InvoiceRow } from './invoice.schema';

export { MAX_AMOUNT_MINOR };

export class InvoiceLineInput {
  @IsString()
  @Length(1, 500)
  description!: string;

  @IsInt()
  @Min(1)
  @Max(1_000_000)
  quantity!: number;

  /** Price of one unit, in minor units of the invoice currency (e.g. cents). */
  @IsInt()
  @Min(0)
  @Max(MAX_AMOUNT_MINOR)
  unitAmount!: number;
}

/** Body of `POST /billing/invoices`. No total: the platform computes it. */
export class CreateInvoiceInput {
  @IsString()
  @Length(1, 200)
  customer!: string;

  /** ISO 4217 alphabetic code in capitals, e.g. `EUR` (one spelling per currency). */
  @IsCurrency()
  currency!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => InvoiceLineInput)
  lines!: InvoiceLineInput[];
}

/** An invoice as the API returns it; amounts in minor units. */
export interface InvoiceDto {
  id: string;
  customer: string;
  currency: string;
  total: number;
  status: string;
  createdBy: string;
  createdAt: string;
  lines?: { description: string; quantity: number; unitAmount: number; amount: number }[];
}

export function toInvoiceDto(row: InvoiceRow, lines?: InvoiceLineRow[]): InvoiceDto {
  return {
    id: row.id,
    customer: row.customer,
    currency: row.currency,
    total: row.totalMinor,
    status: row.status,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    ...(lines && {
      lines: lines.map((l) => ({
        description: l.description,
        quantity: l.quantity,
        unitAmount: l.unitAmountMinor,
        amount: l.amountMinor,
      })),
    }),
  };
}
