import { Body, Controller, Headers, HttpCode, Logger, Post, Req } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import { Public } from '@platform/auth';
import { addAuditDetails, InvalidRequestError, recordDecision, requestState } from '@platform/http';
import { PaymentsRepository } from '../payments/payments.repository';
import { checkWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from './webhook-signature';
import { WebhookSecrets } from './webhook-secrets';
import { PaymentEventInput } from './webhook-event.dto';

/**
 * The payment provider's webhook. Public to the token guard: it is authenticated by its
 * signature instead (HMAC-SHA256 over the timestamp and the raw body, 5 minutes of tolerance,
 * current and previous secret), and that decision is the request's audited decision
 * (`details.authentication: webhook_signature`). The raw body and the signature are never logged.
 */
@ApiTags('billing')
@Controller('billing/webhooks')
export class WebhooksController {
  private readonly logger = new Logger(WebhooksController.name);

  constructor(
    private readonly secrets: WebhookSecrets,
    private readonly paymentsRepository: PaymentsRepository,
  ) {}

  @Post('payments')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Payment provider events (signed): settle or fail a pending payment' })
  @ApiBody({ type: PaymentEventInput })
  @ApiHeader({ name: 'Platform-Signature', required: true, description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">' })
  // The body is validated after the signature (an unsigned caller learns nothing about the schema).
  async paymentEvent(@Req() request: FastifyRequest, @Headers(WEBHOOK_SIGNATURE_HEADER) signature: string | undefined, @Body() body: unknown) {
    const state = requestState(request);
    const failure = checkWebhookSignature(signature, request.rawBody ?? '', this.secrets.accepted(), Math.floor(Date.now() / 1000));
    if (failure) {
      recordDecision(state, 'deny', failure, { ...state.details, authentication: 'webhook_signature' });
      throw new InvalidRequestError(failure, failure === 'timestamp_outside_tolerance' ? 'The signature timestamp is too old or in the future.' : 'The webhook signature is missing or does not verify.');
    }
    recordDecision(state, 'allow', 'webhook_signature_valid', { ...state.details, authentication: 'webhook_signature' });
    const event = plainToInstance(PaymentEventInput, body);
    const problems = typeof body === 'object' && body !== null ? await validate(event, { whitelist: true }) : [];
    if (typeof body !== 'object' || body === null || problems.length > 0) {
      throw new InvalidRequestError('invalid_event', 'The event is not a payment event this API understands.', { fields: problems.map((p) => p.property) });
    }
    const status = event.type === 'payment.settled' ? 'settled' : 'failed';
    const result = await this.paymentsRepository.applyProviderEvent(event.id, event.type, event.data.paymentId, status);
    addAuditDetails(state, { eventId: event.id, outcome: result.outcome });
    // The tenant's own audit trail shows its payment settled (or failed), though the caller has no tenant.
    if (result.outcome === 'applied') state.event = { name: `billing.payment.${status}`, resourceId: result.payment.id, tenant: result.payment.tenant };
    if (result.outcome === 'unknown_payment') this.logger.warn({ eventId: event.id }, 'Webhook event for an unknown payment: acknowledged, ignored');
    return { received: true, duplicate: result.outcome === 'duplicate', outcome: result.outcome };
  }
}
