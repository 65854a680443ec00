import type { FeatureAppManifest } from '@platform/feature-apps';
import { minLength } from '@platform/secrets';

export const BILLING_PERMISSIONS = {
  invoicesRead: 'billing:invoices:read',
  invoicesWrite: 'billing:invoices:write',
  paymentsRead: 'billing:payments:read',
  paymentsWrite: 'billing:payments:write',
  subscriptionsRead: 'billing:subscriptions:read',
  subscriptionsWrite: 'billing:subscriptions:write',
  plansRead: 'billing:plans:read',
  plansManage: 'billing:plans:manage',
} as const;

export const BILLING_APP: FeatureAppManifest = {
  name: 'billing',
  prefix: '/billing',
  // Scopes machine clients may be granted (config/policy.yaml maps each to the permission of its name).
  scopes: [
    BILLING_PERMISSIONS.invoicesRead,
    BILLING_PERMISSIONS.invoicesWrite,
    BILLING_PERMISSIONS.paymentsRead,
    BILLING_PERMISSIONS.paymentsWrite,
  ],
  team: 'billing',
  secrets: [
    {
      name: 'billing-webhook-secret',
      description: "Signs the payment provider's webhook deliveries (HMAC-SHA256)",
      validate: minLength(16),
      consumers: ['billing: POST /billing/webhooks/payments signature check'],
      // Public: development and tests only; production must provide the secret.
      developmentDefault: 'dev-only-webhook-signing-secret',
    },
  ],
  permissions: {
    [BILLING_PERMISSIONS.invoicesRead]: "Read the tenant's invoices",
    [BILLING_PERMISSIONS.invoicesWrite]: 'Create, open and void invoices',
    [BILLING_PERMISSIONS.paymentsRead]: "Read the payments of the tenant's invoices",
    [BILLING_PERMISSIONS.paymentsWrite]: 'Record payments against open invoices',
    [BILLING_PERMISSIONS.subscriptionsRead]: "Read the tenant's subscriptions",
    [BILLING_PERMISSIONS.subscriptionsWrite]: 'Subscribe the tenant to a plan, cancel a subscription',
    [BILLING_PERMISSIONS.plansRead]: 'Read the plan catalogue',
    [BILLING_PERMISSIONS.plansManage]: 'Create and archive plans (platform-wide: platform operators only)',
  },
};
