// @platform/http/testing: internals that the e2e suites drive; tests only (npm run lint:boundaries).
export { VALIDATION_OPTIONS } from './validation';
export { isDatabaseUnavailable } from './database-unavailable';
