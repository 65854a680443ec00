import type { FeatureAppManifest } from '@platform/http';

export const BILLING_PERMISSIONS = {
  invoicesRead: 'billing:invoices:read',
  invoicesWrite: 'billing:invoices:write',
} as const;

export const BILLING_APP: FeatureAppManifest = {
  name: 'billing',
  prefix: '/billing',
  scopes: ['billing:invoices:read', 'billing:invoices:write'],
  team: 'billing',
  permissions: {
    [BILLING_PERMISSIONS.invoicesRead]: "Read the tenant's invoices",
    [BILLING_PERMISSIONS.invoicesWrite]: 'Create invoices',
  },
};
