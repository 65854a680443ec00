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
        // With the `database-password` secret, every new connection asks for the current value.
        const password = secrets.has(DATABASE_PASSWORD.name) ? () => secrets.get(DATABASE_PASSWORD.name) : undefined;
        const database = new DatabaseService(config, password);
        await database.open();
        return database;
      },
    },
  ],
  exports: [DatabaseService],
})
export class DatabaseModule {}
