import { Module } from '@nestjs/common';
import { EventsController } from './events/events.controller';
import { EventsRepository } from './events/events.repository';
import { EventsService } from './events/events.service';

/** analytics: product events and their counts, per tenant. */
@Module({
  controllers: [EventsController],
  providers: [EventsService, EventsRepository],
})
export class AnalyticsModule {}
