import { Global, Module } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';
import { SecretsService } from '@platform/secrets';
import { DATABASE_PASSWORD, DatabaseService } from './database.service';

/** Provides the opened and migrated {@link DatabaseService} to every module. */
@Global()
@Module({
  providers: [
    {
      provide: DatabaseService,
      inject: [PlatformConfig, SecretsService],
      useFactory: async (config: PlatformConfig, secrets: SecretsService) => {
        // Every new connection asks for the `database-password` secret's current value (also one
        // that appears after start), else uses the password of DATABASE_URL.
        const database = new DatabaseService(config, () =>
          secrets.has(DATABASE_PASSWORD.name) ? secrets.get(DATABASE_PASSWORD.name) : undefined,
        );
        await database.open();
        return database;
      },
    },
  ],
  exports: [DatabaseService],
})
export class DatabaseModule {}
