// @platform/dev-idp: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { startDevOidcProvider, type DevOidcProvider } from './dev-oidc-provider';
export {
  generateDpopKey,
  createDpopProof,
  devUserToken,
  devClientToken,
  clientCredentialsToken,
  delegatedToken,
  type DpopKey,
} from './dev-token-client';
export {
  DEV_USERS,
  devClientSecretName,
  undeclaredSeedScopes,
  DEV_MACHINE_CLIENTS,
  DEV_CLI_CLIENT,
  DEV_CONSOLE_CLIENT,
} from './seed';
export { assertPlatformDevProvider } from './provider-identity';
export { profileUsername } from './profile-users';
