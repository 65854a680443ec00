import { Global, Module } from '@nestjs/common';
import { PlatformConfig } from '@platform/config';
import { DatabaseService } from './database.service';

/** Provides the opened and migrated {@link DatabaseService} to every module. */
@Global()
@Module({
  providers: [
    {
      provide: DatabaseService,
      inject: [PlatformConfig],
      useFactory: async (config: PlatformConfig) => {
        const database = new DatabaseService(config);
        await database.open();
        return database;
      },
    },
  ],
  exports: [DatabaseService],
})
export class DatabaseModule {}
