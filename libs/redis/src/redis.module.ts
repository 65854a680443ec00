import { Global, Module } from '@nestjs/common';
import { RedisService } from './redis.service';
import { SharedCounters } from './shared-counters';

/** The optional Redis connection and the counters shared between instances (memory without Redis). */
@Global()
@Module({
  providers: [RedisService, SharedCounters],
  exports: [RedisService, SharedCounters],
})
export class RedisModule {}
