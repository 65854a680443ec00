// @platform/idempotency: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { IdempotencyModule } from './idempotency.module';
export { IdempotencyRepository } from './idempotency.repository';
export { Idempotent } from './idempotent.decorator';
