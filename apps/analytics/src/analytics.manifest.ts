import type { FeatureAppManifest } from '@platform/feature-apps';

export const ANALYTICS_PERMISSIONS = {
  eventsWrite: 'analytics:events:write',
  eventsRead: 'analytics:events:read',
  usageRead: 'analytics:usage:read',
} as const;

export const ANALYTICS_APP: FeatureAppManifest = {
  name: 'analytics',
  prefix: '/analytics',
  // Scopes machine clients may be granted (config/policy.yaml maps each to the permission of its name).
  scopes: [ANALYTICS_PERMISSIONS.eventsWrite, ANALYTICS_PERMISSIONS.eventsRead, ANALYTICS_PERMISSIONS.usageRead],
  team: 'data',
  permissions: {
    [ANALYTICS_PERMISSIONS.eventsWrite]: 'Send product events',
    [ANALYTICS_PERMISSIONS.eventsRead]: "Query the tenant's event counts and time series",
    [ANALYTICS_PERMISSIONS.usageRead]: "Read the tenant's API usage per app, route and decision (from the audit trail)",
  },
};
