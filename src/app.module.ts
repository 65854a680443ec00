import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLoggerInstance } from 'pino';
import { AuditModule } from '@platform/audit';
import { AuthModule, MachineClientRegistrar } from '@platform/auth';
import { PlatformConfigModule, type PlatformConfigValues } from '@platform/config';
import { DatabaseModule } from '@platform/database';
import { createValidationPipe, ProblemFilter } from '@platform/http';
import { AppRegistry, AppRegistryModule, type FeatureApp } from '@platform/feature-apps';
import { IdempotencyModule } from '@platform/idempotency';
import { ObservabilityModule } from '@platform/observability';
import { RedisModule } from '@platform/redis';
import { SecretsModule, type SecretDefinition } from '@platform/secrets';
import { CONSOLE_APP } from './console/console-app';
import { ConsoleModule } from './console/console.module';
import { PLATFORM_APP } from './feature-apps';
import { PlatformModule } from './platform/platform.module';

/** With an external identity provider, clients are created there; the platform binds them. */
const NO_CLIENT_ISSUER: MachineClientRegistrar = {
  issuesClients: false,
  create: () => Promise.reject(new Error('clients are created at the identity provider')),
};

/**
 * The root module: shared platform modules once, then every enabled feature app. Only this
 * module composes apps; apps never import each other.
 */
@Module({})
export class AppModule {
  static forRoot(
    config: PlatformConfigValues,
    logger: PinoLoggerInstance,
    apps: FeatureApp[],
    known: FeatureApp[] = apps,
    registrar: MachineClientRegistrar = NO_CLIENT_ISSUER,
    env: Record<string, string | undefined> = process.env,
    extraSecrets: SecretDefinition[] = [],
  ): DynamicModule {
    return {
      module: AppModule,
      // The registrar is the platform's to provide and every feature app's to use.
      global: true,
      exports: [MachineClientRegistrar],
      imports: [
        PlatformConfigModule.forRoot(config),
        // Nest's own logs go through the root pino logger. No per-request logging middleware
        // (forRoutes: []): the audit hook writes the one line per request, at a fraction of the cost.
        LoggerModule.forRoot({ useExisting: true, pinoHttp: { logger }, forRoutes: [] }),
        ObservabilityModule,
        // The secrets of the platform and of every app it serves, read from one place.
        SecretsModule.forRoot(
          [...(PLATFORM_APP.secrets ?? []), ...extraSecrets, ...apps.flatMap((app) => app.manifest.secrets ?? [])],
          env,
        ),
        DatabaseModule,
        RedisModule,
        AuditModule,
        AuthModule,
        IdempotencyModule,
        PlatformModule,
        ConsoleModule,
        AppRegistryModule.forRoot(
          new AppRegistry(
            [...apps.map((app) => app.manifest), PLATFORM_APP, CONSOLE_APP],
            [...known.map((app) => app.manifest), PLATFORM_APP, CONSOLE_APP],
          ),
        ),
        ...apps.map((app) => app.module),
      ],
      providers: [
        { provide: MachineClientRegistrar, useValue: registrar },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
