import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequirePermissions } from '@platform/auth';
import { PlatformMetrics } from '@platform/observability';
import { PLATFORM_PERMISSIONS } from './platform-permissions';

/**
 * Prometheus metrics of this instance, in the text exposition format. Protected like every other
 * route: it needs `platform:metrics:read` (the `metrics-scraper` machine client's scope, or the
 * platform-operator role), so Prometheus scrapes it with an OAuth client-credentials token
 * (`oauth2` in its scrape config; docs/observability.md).
 */
@ApiTags('platform')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: PlatformMetrics) {}

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiProduces('text/plain')
  @RequirePermissions(PLATFORM_PERMISSIONS.metricsRead, { tenant: 'optional' })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { contentType, body } = await this.metrics.exposition();
    void reply.header('content-type', contentType);
    return body;
  }
}
