import { Module } from '@nestjs/common';
import { InvoicesController } from './invoices/invoices.controller';
import { InvoicesRepository } from './invoices/invoices.repository';
import { InvoicesService } from './invoices/invoices.service';
import { PaymentsController } from './payments/payments.controller';
import { PaymentsRepository } from './payments/payments.repository';
import { PaymentsService } from './payments/payments.service';
import { PlansController } from './plans/plans.controller';
import { PlansRepository } from './plans/plans.repository';
import { PlansService } from './plans/plans.service';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SubscriptionsRepository } from './subscriptions/subscriptions.repository';
import { SubscriptionsService } from './subscriptions/subscriptions.service';
import { PaymentEventsService } from './webhooks/payment-events.service';
import { WebhookSecrets } from './webhooks/webhook-secrets';
import { WebhookSignatureGuard } from './webhooks/webhook-signature.guard';
import { WebhooksController } from './webhooks/webhooks.controller';

/** billing: the plan catalogue, tenants' subscriptions, invoices and their payments, the payment provider's webhook. */
@Module({
  controllers: [PlansController, SubscriptionsController, InvoicesController, PaymentsController, WebhooksController],
  providers: [
    PlansService,
    PlansRepository,
    SubscriptionsService,
    SubscriptionsRepository,
    InvoicesService,
    InvoicesRepository,
    PaymentsService,
    PaymentsRepository,
    WebhookSecrets,
    WebhookSignatureGuard,
    PaymentEventsService,
  ],
})
export class BillingModule {}
