/** Permissions of the platform's own routes. */
export const PLATFORM_PERMISSIONS = {
  metricsRead: 'platform:metrics:read',
  secretsRead: 'platform:secrets:read',
  auditRead: 'platform:audit:read',
  auditReadAll: 'platform:audit:read-all',
  inventoryRead: 'platform:inventory:read',
  authzExplain: 'platform:authz:explain',
  authzExplainAll: 'platform:authz:explain-all',
} as const;
