import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsObject, IsString, IsUUID, Length, ValidateNested } from 'class-validator';

export class PaymentEventData {
  @ApiProperty({ description: 'The payment this event is about (the id the platform returned)', format: 'uuid' })
  @IsUUID('4')
  paymentId!: string;
}

/** A payment provider's event, as delivered to `POST /billing/webhooks/payments`. */
export class PaymentEventInput {
  @ApiProperty({ description: "The provider's unique event id; a replayed id is acknowledged and not processed again", example: 'evt_1' })
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
