export * from './platform-config';
export * from './platform-config.provider';
export * from './config.module';
export { PlatformEnv, ALLOWED_ALGORITHMS } from './platform-env.schema';
export { validatePlatformEnv } from './validate-platform-env';
