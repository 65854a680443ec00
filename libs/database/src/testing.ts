// @platform/database/testing: internals that the e2e suites drive; tests only (npm run lint:boundaries).
export { endPool } from './database.service';
export { installPoolTransactions } from './pool-transaction';
