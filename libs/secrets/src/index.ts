export * from './secret-definition';
export * from './secrets.module';
export * from './secrets.service';
