import { ApiProperty } from '@nestjs/swagger';
import { plainToInstance, Type } from 'class-transformer';
import { IsIn, IsObject, IsString, IsUUID, Length, validate, ValidateNested } from 'class-validator';
import { InvalidRequestError } from '@platform/http';

export class PaymentEventData {
  @ApiProperty({ description: 'The payment this event is about (the id the platform returned)', format: 'uuid' })
  @IsUUID('4')
  paymentId!: string;
}

/** A payment provider's event, as delivered to `POST /billing/webhooks/payments`. */
export class PaymentEventInput {
  @ApiProperty({
    description: "The provider's unique event id; a replayed id is acknowledged and not processed again",
    example: 'evt_1',
  })
  @IsString()
  @Length(1, 255)
  id!: string;

  @ApiProperty({ enum: ['payment.settled', 'payment.failed'] })
  @IsIn(['payment.settled', 'payment.failed'])
  type!: 'payment.settled' | 'payment.failed';

  @ApiProperty({ type: PaymentEventData })
  @IsObject()
  @ValidateNested()
  @Type(() => PaymentEventData)
  data!: PaymentEventData;
}

/**
 * The body as a {@link PaymentEventInput}, validated after the signature (an unsigned caller
 * learns nothing about the schema).
 * @throws InvalidRequestError 400 `invalid_event` naming the invalid fields
 */
export async function parsePaymentEvent(body: unknown): Promise<PaymentEventInput> {
  if (typeof body !== 'object' || body === null)
    throw new InvalidRequestError('invalid_event', INVALID_EVENT, { fields: [] });
  const event = plainToInstance(PaymentEventInput, body);
  const problems = await validate(event, { whitelist: true });
  if (problems.length > 0)
    throw new InvalidRequestError('invalid_event', INVALID_EVENT, { fields: problems.map((p) => p.property) });
  return event;
}

const INVALID_EVENT = 'The event is not a payment event this API understands.';
