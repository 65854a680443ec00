export * from './idempotency.module';
export * from './idempotency.repository';
export * from './idempotency.schema';
export * from './idempotent.decorator';
