import { Module } from '@nestjs/common';
import { EventsController } from './events/events.controller';
import { EventsRepository } from './events/events.repository';
import { EventsService } from './events/events.service';
import { UsageController } from './usage/usage.controller';
import { UsageService } from './usage/usage.service';

/** analytics: product events (batches, counts, hour/day series) and API usage, per tenant. */
@Module({
  controllers: [EventsController, UsageController],
  providers: [EventsService, EventsRepository, UsageService],
})
export class AnalyticsModule {}
