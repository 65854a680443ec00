import { DynamicModule, Module, type Type } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLoggerInstance } from 'pino';
import { AuditModule } from '@platform/audit';
import { AuthModule } from '@platform/auth';
import { PlatformConfigModule, type PlatformConfigValues } from '@platform/config';
import { DatabaseModule } from '@platform/database';
import { createValidationPipe, ProblemFilter } from '@platform/http';
import { FEATURE_APPS } from './feature-apps';
import { PlatformModule } from './platform/platform.module';

/**
 * The root module: shared platform modules once, then every feature app. Only this module
 * composes apps; apps never import each other.
 */
@Module({})
export class AppModule {
  static forRoot(config: PlatformConfigValues, logger: PinoLoggerInstance, extraModules: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformConfigModule.forRoot(config),
        // Nest's own logs go through the root pino logger. No per-request logging middleware
        // (forRoutes: []): the audit hook writes the one line per request, at a fraction of the cost.
        LoggerModule.forRoot({ useExisting: true, pinoHttp: { logger }, forRoutes: [] }),
        DatabaseModule,
        AuditModule,
        AuthModule,
        PlatformModule,
        ...FEATURE_APPS.map((app) => app.module),
        ...extraModules,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
