export * from './dev-oidc-provider';
export * from './dev-token-client';
export * from './seed';
export { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, type ActClaim } from './token-exchange';
export * from './provider-identity';
export * from './profile-users';
