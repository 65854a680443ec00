export * from './database.module';
export * from './database.service';
