export * from './audit-hooks';
export * from './audit-writer';
export * from './audit.module';
export * from './audit.repository';
export * from './audit.schema';
