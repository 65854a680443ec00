// @platform/config: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export {
  parsePlatformConfig,
  type ClaimPresetName,
  type OidcConfig,
  type PlatformConfigValues,
  ConfigError,
} from './platform-config';
export { concreteIssuers, ENTRA_TENANT_PLACEHOLDER, type IssuerConfig } from './issuers-file';
export { PlatformConfig } from './platform-config.provider';
export { PlatformConfigModule } from './config.module';
export { PlatformEnv, ALLOWED_ALGORITHMS } from './platform-env.schema';
export { validatePlatformEnv } from './validate-platform-env';
