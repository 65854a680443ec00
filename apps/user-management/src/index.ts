export * from './user-management.manifest';
export * from './user-management.module';
export { UserProvisioner } from './users/user-provisioner';
