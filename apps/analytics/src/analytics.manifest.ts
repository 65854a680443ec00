import type { FeatureAppManifest } from '@platform/http';

export const ANALYTICS_PERMISSIONS = {
  eventsWrite: 'analytics:events:write',
  eventsRead: 'analytics:events:read',
} as const;

export const ANALYTICS_APP: FeatureAppManifest = {
  name: 'analytics',
  prefix: '/analytics',
  scopes: ['analytics:events:write', 'analytics:events:read'],
  team: 'data',
  permissions: {
    [ANALYTICS_PERMISSIONS.eventsWrite]: 'Send product events',
    [ANALYTICS_PERMISSIONS.eventsRead]: "Query the tenant's event counts",
  },
};
