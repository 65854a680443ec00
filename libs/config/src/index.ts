// @platform/config: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { parsePlatformConfig, type ClaimPresetName, type PlatformConfigValues, ConfigError } from './platform-config';
export { PlatformConfig } from './platform-config.provider';
export { PlatformConfigModule } from './config.module';
