export * from './user-management.manifest';
export * from './user-management.module';
