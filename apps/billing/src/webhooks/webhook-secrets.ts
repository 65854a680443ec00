import { Injectable } from '@nestjs/common';
import { SecretsService } from '@platform/secrets';

/** Name of the webhook signing secret (declared in the billing manifest). */
export const WEBHOOK_SECRET = 'billing-webhook-secret';

/**
 * The webhook signing secrets accepted now: the current one first, then the previous one during a
 * rotation's grace window (or while `BILLING_WEBHOOK_SECRET_PREVIOUS` is set). Asked at every
 * use, never kept: a rotated secret takes effect without a restart.
 */
@Injectable()
export class WebhookSecrets {
  constructor(private readonly secrets: SecretsService) {}

  accepted(): readonly string[] {
    return this.secrets.accepted(WEBHOOK_SECRET);
  }
}
