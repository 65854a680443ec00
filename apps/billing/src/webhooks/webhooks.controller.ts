import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '@platform/auth';
import { addAuditDetails, requestState } from '@platform/http';
import { PaymentEventsService } from './payment-events.service';
import { parsePaymentEvent, PaymentEventInput } from './webhook-event.dto';
import { WebhookSignatureGuard } from './webhook-signature.guard';

/**
 * The payment provider's webhook. Public to the token guard: it is authenticated by its
 * signature instead ({@link WebhookSignatureGuard}); the events are applied by {@link PaymentEventsService}.
 */
@ApiTags('billing')
@Controller('billing/webhooks')
export class WebhooksController {
  constructor(private readonly events: PaymentEventsService) {}

  @Post('payments')
  @Public()
  @UseGuards(WebhookSignatureGuard)
  @HttpCode(200)
  @ApiOperation({ summary: 'Payment provider events (signed): settle or fail a pending payment' })
  @ApiBody({ type: PaymentEventInput })
  @ApiHeader({
    name: 'Platform-Signature',
    required: true,
    description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
  })
  async paymentEvent(@Req() request: FastifyRequest, @Body() body: unknown) {
    const event = await parsePaymentEvent(body);
    const result = await this.events.apply(event);
    const state = requestState(request);
    addAuditDetails(state, { eventId: event.id, outcome: result.outcome });
    if (result.auditEvent) state.event = result.auditEvent;
    return { received: true, duplicate: result.outcome === 'duplicate', outcome: result.outcome };
  }
}
