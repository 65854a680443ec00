export * from './dev-oidc-provider';
export * from './dev-token-client';
export * from './seed';
