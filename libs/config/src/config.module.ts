import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { toPlatformConfig, withIssuersFile, type PlatformConfigValues } from './platform-config';
import { PlatformConfig } from './platform-config.provider';
import type { PlatformEnv } from './platform-env.schema';
import { validatePlatformEnv } from './validate-platform-env';

/** Makes the validated {@link PlatformConfig} injectable everywhere (through @nestjs/config). */
@Global()
@Module({})
export class PlatformConfigModule {
  /**
   * Serves values already validated by parsePlatformConfig (same schema and rules). The platform's
   * bootstrap needs them before Nest exists (logger, Fastify options, the development provider,
   * whose issuer it then adds), and tests pass their own environment rather than `process.env`.
   */
  static forRoot(values: PlatformConfigValues): DynamicModule {
    return {
      module: PlatformConfigModule,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ platform: values })] })],
      providers: [
        {
          provide: PlatformConfig,
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.getOrThrow<PlatformConfigValues>('platform'),
        },
      ],
      exports: [PlatformConfig],
    };
  }

  /**
   * Validates `process.env` when the module is created (`ConfigModule.forRoot({ validate })`,
   * with the {@link PlatformEnv} schema) and serves the typed {@link PlatformConfig} built from it:
   * for a Nest process that needs no configuration before its container exists.
   *
   * @throws ConfigError (while the module is built) naming every invalid variable.
   */
  static fromEnvironment(cwd = process.cwd()): DynamicModule {
    let validated: PlatformEnv | undefined;
    return {
      module: PlatformConfigModule,
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, validate: (raw) => (validated = validatePlatformEnv(raw)) }),
      ],
      providers: [
        {
          provide: PlatformConfig,
          // ConfigModule validated process.env (synchronously, in forRoot) before any provider is built.
          useFactory: () =>
            withIssuersFile(toPlatformConfig(validated as PlatformEnv, cwd), validated as PlatformEnv, cwd),
        },
      ],
      exports: [PlatformConfig],
    };
  }
}
