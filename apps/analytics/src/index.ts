export * from './analytics.manifest';
export * from './analytics.module';
