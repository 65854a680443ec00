import type { FeatureAppManifest } from '@platform/feature-apps';

/**
 * Manifest of the operator console: it owns `/console` (its page and files, all public) and
 * declares no permission of its own. What a person sees is what the platform API lets their
 * token read: there is no second permission system.
 */
export const CONSOLE_APP: FeatureAppManifest = {
  name: 'console',
  prefix: '/console',
  team: 'platform',
  permissions: {},
  scopes: [],
};
