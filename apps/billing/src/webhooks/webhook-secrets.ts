import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';

/**
 * The webhook signing secrets accepted now (current first, then the previous one during a
 * rotation). Read at every use, never kept by the handler, so a rotated source takes effect
 * without a restart.
 */
@Injectable()
export class WebhookSecrets {
  constructor(private readonly config: PlatformConfig) {}

  accepted(): readonly string[] {
    return this.config.webhookSigningSecrets;
  }
}
