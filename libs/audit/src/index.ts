export * from './audit-chain';
export * from './audit-hooks';
export * from './audit-journal';
export * from './audit-writer';
export * from './audit.module';
export * from './audit.repository';
export * from './audit.schema';
export * from './audited.decorator';
