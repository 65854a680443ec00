// @platform/audit/testing: internals that the e2e suites drive; tests only (npm run lint:boundaries).
export { eventRowFor } from './audit-hooks';
export { type NewAuditRow } from './audit.schema';
