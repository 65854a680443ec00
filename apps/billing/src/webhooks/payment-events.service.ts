import { Injectable, Logger } from '@nestjs/common';
import { PaymentsRepository } from '../payments/payments.repository';
import type { PaymentEventInput } from './webhook-event.dto';

/** What one provider event did, and the domain event the tenant's audit trail gets for it. */
export interface PaymentEventResult {
  outcome: 'duplicate' | 'unknown_payment' | 'already_final' | 'applied';
  /** Set when the event changed a payment: `billing.payment.settled` or `.failed`, in the payment's tenant. */
  auditEvent?: { name: string; resourceId: string; tenant: string };
}

/** The payment provider's events: each settles or fails one pending payment, at most once per event id. */
@Injectable()
export class PaymentEventsService {
  private readonly logger = new Logger(PaymentEventsService.name);

  constructor(private readonly payments: PaymentsRepository) {}

  /** Applies a validated event; a replayed event id is `duplicate`, an unknown payment is acknowledged and ignored. */
  async apply(event: PaymentEventInput): Promise<PaymentEventResult> {
    const status = event.type === 'payment.settled' ? 'settled' : 'failed';
    const result = await this.payments.applyProviderEvent(event.id, event.type, event.data.paymentId, status);
    if (result.outcome === 'unknown_payment')
      this.logger.warn({ eventId: event.id }, 'Webhook event for an unknown payment: acknowledged, ignored');
    // The tenant's own audit trail shows its payment settled (or failed), though the caller has no tenant.
    if (result.outcome === 'applied')
      return {
        outcome: 'applied',
        auditEvent: { name: `billing.payment.${status}`, resourceId: result.payment.id, tenant: result.payment.tenant },
      };
    return { outcome: result.outcome };
  }
}
