import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { InvalidRequestError, recordDecision, requestState } from '@platform/http';
import { checkWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from './webhook-signature';
import { WebhookSecrets } from './webhook-secrets';

/**
 * Authenticates a webhook delivery by its signature (HMAC-SHA256 over the timestamp and the raw
 * body, 5 minutes of tolerance, current and previous secret). On `@Public()` routes it is the
 * route's authentication, so its verdict is the request's audited decision
 * (`details.authentication: webhook_signature`). The raw body and the signature are never logged.
 *
 * @throws InvalidRequestError 400 `missing_signature`, `invalid_signature`, `timestamp_outside_tolerance`
 */
@Injectable()
export class WebhookSignatureGuard implements CanActivate {
  constructor(private readonly secrets: WebhookSecrets) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const state = requestState(request);
    const header = request.headers[WEBHOOK_SIGNATURE_HEADER];
    const failure = checkWebhookSignature(
      typeof header === 'string' ? header : undefined,
      request.rawBody ?? '',
      this.secrets.accepted(),
      Math.floor(Date.now() / 1000),
    );
    const details = { ...state.details, authentication: 'webhook_signature' };
    if (failure) {
      recordDecision(state, 'deny', failure, details);
      throw new InvalidRequestError(
        failure,
        failure === 'timestamp_outside_tolerance'
          ? 'The signature timestamp is too old or in the future.'
          : 'The webhook signature is missing or does not verify.',
      );
    }
    recordDecision(state, 'allow', 'webhook_signature_valid', details);
    return true;
  }
}
