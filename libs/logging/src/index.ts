// @platform/logging: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export {
  bufferedDestination,
  createRootLogger,
  flushLogger,
  registerSecretValue,
  unregisterSecretValue,
} from './logger';
export { infoLine } from './info-line';
