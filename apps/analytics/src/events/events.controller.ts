import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '@platform/audit';
import { RequirePermissions, TenantPrincipal } from '@platform/auth';
import { ANALYTICS_PERMISSIONS } from '../analytics.manifest';
import { EventCountsQuery, EventSeriesQuery, IngestEventsInput, type EventCount } from './event.dto';
import { EventsService } from './events.service';

/** Product events of the caller's tenant. */
@ApiTags('analytics')
@Controller('analytics/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Send a batch of events (at most 1,000; one bad event refuses the batch, listing the index and reason of each)',
  })
  @RequirePermissions(ANALYTICS_PERMISSIONS.eventsWrite)
  @Audited('analytics.events.ingested', { resourceId: () => null })
  ingest(
    @TenantPrincipal() principal: TenantPrincipal,
    @Body() input: IngestEventsInput,
  ): Promise<{ accepted: number }> {
    return this.events.ingest(principal, input);
  }

  @Get('counts')
  @ApiOperation({ summary: 'Events and unique users per event name, optionally within a time range' })
  @RequirePermissions(ANALYTICS_PERMISSIONS.eventsRead)
  counts(
    @TenantPrincipal() principal: TenantPrincipal,
    @Query() query: EventCountsQuery,
  ): Promise<{ counts: EventCount[] }> {
    return this.events.counts(principal, query);
  }

  @Get('series')
  @ApiOperation({ summary: 'One event per UTC hour or day: counts and unique users' })
  @RequirePermissions(ANALYTICS_PERMISSIONS.eventsRead)
  series(@TenantPrincipal() principal: TenantPrincipal, @Query() query: EventSeriesQuery) {
    return this.events.series(principal, query);
  }
}
