import { Global, Module } from '@nestjs/common';
import { PlatformMetrics } from './platform-metrics';

/** Metrics registry of the platform instance; global so every lib can count what it does. */
@Global()
@Module({ providers: [PlatformMetrics], exports: [PlatformMetrics] })
export class ObservabilityModule {}
