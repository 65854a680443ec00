import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';

/**
 * The webhook signing secrets accepted now (current first, then the previous one during a
 * rotation). The handler asks at every use and keeps nothing; today the values come from the
 * configuration read at start (rotating them needs a restart with BILLING_WEBHOOK_SECRET_PREVIOUS
 * set to the old one), and a live secrets source can replace this provider without touching it.
 */
@Injectable()
export class WebhookSecrets {
  constructor(private readonly config: PlatformConfig) {}

  accepted(): readonly string[] {
    return this.config.webhookSigningSecrets;
  }
}
