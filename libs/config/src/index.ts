export * from './platform-config';
export * from './platform-config.provider';
export * from './config.module';
export * from './issuers-file';
