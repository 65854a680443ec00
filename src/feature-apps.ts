import { AnalyticsModule, ANALYTICS_APP } from '@apps/analytics';
import { BillingModule, BILLING_APP } from '@apps/billing';
import { UserManagementModule, USER_MANAGEMENT_APP } from '@apps/user-management';
import type { Type } from '@nestjs/common';
import type { FeatureAppManifest } from '@platform/http';

/** Every feature app the platform serves: its manifest and its Nest module. Add new apps here. */
export const FEATURE_APPS: { manifest: FeatureAppManifest; module: Type }[] = [
  { manifest: USER_MANAGEMENT_APP, module: UserManagementModule },
  { manifest: BILLING_APP, module: BillingModule },
  { manifest: ANALYTICS_APP, module: AnalyticsModule },
];

/** Manifest of the platform's own routes (health, audit). */
export const PLATFORM_APP: FeatureAppManifest = {
  name: 'platform',
  prefix: '/platform',
  team: 'platform',
  permissions: {
    'platform:audit:read': "Read the audit trail of your tenant",
    'platform:audit:read-all': 'Read the audit trail of every tenant, including requests without a valid token',
  },
};
