// @platform/observability: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { ObservabilityModule } from './observability.module';
export { PlatformMetrics } from './platform-metrics';
export { traceContextFrom, formatTraceparent, type TraceContext } from './trace-context';
export { relayClusterMetrics } from './cluster-metrics';
