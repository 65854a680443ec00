export * from './database.module';
export * from './database.service';
export * from './cursor';
export * from './pool-transaction';
