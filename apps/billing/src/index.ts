export * from './billing.manifest';
export * from './billing.module';
