import { Global, Module } from '@nestjs/common';
import { IdempotencyInterceptor } from './idempotent.decorator';
import { IdempotencyRepository } from './idempotency.repository';

/** Idempotency keys for retry-safe POSTs; import once in the root module, use `@Idempotent()` in apps. */
@Global()
@Module({
  providers: [IdempotencyRepository, IdempotencyInterceptor],
  exports: [IdempotencyRepository, IdempotencyInterceptor],
})
export class IdempotencyModule {}
