import type { FeatureAppManifest } from '@platform/feature-apps';

export const USER_PERMISSIONS = {
  usersRead: 'users:users:read',
  usersManage: 'users:users:manage',
  rolesManage: 'users:roles:manage',
  serviceAccountsRead: 'users:service-accounts:read',
  serviceAccountsManage: 'users:service-accounts:manage',
} as const;

export const USER_MANAGEMENT_APP: FeatureAppManifest = {
  name: 'user-management',
  prefix: '/users',
  otherPrefixes: ['/service-accounts'],
  scopes: [],
  team: 'identity',
  permissions: {
    [USER_PERMISSIONS.usersRead]: 'List the users of your tenant',
    [USER_PERMISSIONS.usersManage]: 'Deactivate and reactivate users of your tenant',
    [USER_PERMISSIONS.rolesManage]: 'Grant and revoke platform roles you hold to users of your tenant',
    [USER_PERMISSIONS.serviceAccountsRead]: "List your tenant's service accounts (machine clients) and their scopes",
    [USER_PERMISSIONS.serviceAccountsManage]:
      'Register machine clients for your tenant with scopes you hold; deactivate and reactivate them',
  },
};
