import type { FeatureAppManifest } from '@platform/http';

export const USER_PERMISSIONS = {
  usersRead: 'users:users:read',
} as const;

export const USER_MANAGEMENT_APP: FeatureAppManifest = {
  name: 'user-management',
  prefix: '/users',
  scopes: [],
  team: 'identity',
  permissions: { [USER_PERMISSIONS.usersRead]: 'List the users of your tenant' },
};
