import { DynamicModule, Global, Module } from '@nestjs/common';
import type { SecretDefinition } from './secret-definition';
import { SECRET_DEFINITIONS, SECRETS_ENV, SecretsService } from './secrets.service';

/** The secrets service, with every declared secret; import once in the root module. */
@Global()
@Module({})
export class SecretsModule {
  static forRoot(definitions: SecretDefinition[], env: Record<string, string | undefined>): DynamicModule {
    return {
      module: SecretsModule,
      providers: [
        { provide: SECRET_DEFINITIONS, useValue: definitions },
        { provide: SECRETS_ENV, useValue: env },
        SecretsService,
      ],
      exports: [SecretsService],
    };
  }
}
