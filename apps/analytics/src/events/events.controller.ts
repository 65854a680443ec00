import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { Audited } from '@platform/audit';
import { CurrentPrincipal, RequirePermissions, type Principal } from '@platform/auth';
import { ANALYTICS_PERMISSIONS } from '../analytics.manifest';
import { EventCountsQuery, IngestEventsInput, type EventCount } from './event.dto';
import { EventsService } from './events.service';

@Controller('analytics/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
  @HttpCode(202)
  @RequirePermissions(ANALYTICS_PERMISSIONS.eventsWrite)
  @Audited('analytics.events.ingested', { resourceId: () => null })
  ingest(@CurrentPrincipal() principal: Principal, @Body() input: IngestEventsInput): Promise<{ accepted: number }> {
    return this.events.ingest(principal, input);
  }

  @Get('counts')
  @RequirePermissions(ANALYTICS_PERMISSIONS.eventsRead)
  counts(@CurrentPrincipal() principal: Principal, @Query() query: EventCountsQuery): Promise<{ counts: EventCount[] }> {
    return this.events.counts(principal, query);
  }
}
