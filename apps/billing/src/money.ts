import { IsISO4217CurrencyCode, Matches } from 'class-validator';
import { applyDecorators } from '@nestjs/common';

/** Largest amount of one line, invoice, plan or payment, in minor units (keeps every sum a safe integer). */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000;

/** An ISO 4217 alphabetic code in capitals, e.g. `EUR` (one spelling per currency). */
export const IsCurrency = () =>
  applyDecorators(
    Matches(/^[A-Z]{3}$/, { message: '$property must be an ISO 4217 code in capitals, e.g. EUR' }),
    IsISO4217CurrencyCode(),
  );
