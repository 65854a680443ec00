// @platform/redis: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { RedisModule } from './redis.module';
export { REDIS_PASSWORD, RedisService } from './redis.service';
export { SharedCounters, type WindowCounts } from './shared-counters';
