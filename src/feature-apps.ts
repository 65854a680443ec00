import { AnalyticsModule, ANALYTICS_APP } from '@apps/analytics';
import { BillingModule, BILLING_APP } from '@apps/billing';
import { UserManagementModule, USER_MANAGEMENT_APP } from '@apps/user-management';
import { DATABASE_PASSWORD } from '@platform/database';
import { REDIS_PASSWORD } from '@platform/redis';
import type { FeatureApp, FeatureAppManifest } from '@platform/feature-apps';
import { PLATFORM_PERMISSIONS } from './platform/platform-permissions';

export { PLATFORM_PERMISSIONS };

/** Every feature app the platform can serve. Add new apps here; `ENABLED_APPS` picks among them. */
export const FEATURE_APPS: FeatureApp[] = [
  { manifest: USER_MANAGEMENT_APP, module: UserManagementModule },
  { manifest: BILLING_APP, module: BillingModule },
  { manifest: ANALYTICS_APP, module: AnalyticsModule },
];

/** Manifest of the platform's own routes (health, audit trail, inventory). */
export const PLATFORM_APP: FeatureAppManifest = {
  name: 'platform',
  prefix: '/platform',
  team: 'platform',
  scopes: [PLATFORM_PERMISSIONS.metricsRead],
  secrets: [DATABASE_PASSWORD, REDIS_PASSWORD],
  permissions: {
    [PLATFORM_PERMISSIONS.metricsRead]: 'Scrape the Prometheus metrics at /metrics',
    [PLATFORM_PERMISSIONS.secretsRead]:
      'List the secrets in use: name, source, version, last rotation, consumers (never a value)',
    [PLATFORM_PERMISSIONS.auditRead]: 'Read the audit trail of your tenant',
    [PLATFORM_PERMISSIONS.auditReadAll]:
      'Read the audit trail of every tenant, including requests without a valid token',
    [PLATFORM_PERMISSIONS.inventoryRead]: 'List the apps and routes the platform serves, with their permissions',
    [PLATFORM_PERMISSIONS.authzExplain]: 'Explain why a principal of your tenant may or may not do something',
    [PLATFORM_PERMISSIONS.authzExplainAll]: 'Explain decisions in any tenant',
  },
};

/** Every OAuth scope the platform API offers: the scopes of its own and of `apps`' manifests, once each. */
export function resourceScopesOf(apps: FeatureApp[]): string[] {
  return [...new Set([PLATFORM_APP, ...apps.map((app) => app.manifest)].flatMap((manifest) => manifest.scopes))];
}

/**
 * The feature apps this deployment serves: all of them, or those named in `ENABLED_APPS`.
 * @throws Error naming an unknown app
 */
export function enabledApps(all: FeatureApp[], names: string[] | undefined): FeatureApp[] {
  if (names === undefined) return all;
  const unknown = names.filter((name) => !all.some((app) => app.manifest.name === name));
  if (unknown.length)
    throw new Error(
      `ENABLED_APPS names unknown apps: ${unknown.join(', ')} (known: ${all.map((a) => a.manifest.name).join(', ')})`,
    );
  return all.filter((app) => names.includes(app.manifest.name));
}
