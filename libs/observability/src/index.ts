export * from './observability.module';
export * from './platform-metrics';
export * from './trace-context';
export * from './cluster-metrics';
