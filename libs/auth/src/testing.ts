// @platform/auth/testing: internals that the e2e suites drive; tests only (npm run lint:boundaries).
export { RateLimiter } from './limits/rate-limiter';
export { IssuerMisconfiguration } from './issuer-misconfiguration';
export { IssuerKeyStore } from './issuer-key-store';
