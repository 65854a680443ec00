// @platform/logging: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { createRootLogger, registerSecretValue, unregisterSecretValue } from './logger';
