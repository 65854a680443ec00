import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import type { PlatformConfigValues } from './platform-config';
import { PlatformConfig } from './platform-config.provider';

/** Makes the validated {@link PlatformConfig} injectable everywhere (through @nestjs/config). */
@Global()
@Module({})
export class PlatformConfigModule {
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
}
