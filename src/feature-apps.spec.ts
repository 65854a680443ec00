import { describe, expect, it } from 'vitest';
import { undeclaredSeedScopes } from '@platform/dev-idp';
import { FEATURE_APPS, PLATFORM_APP, resourceScopesOf } from './feature-apps';

describe('scopes, written once in the manifests', () => {
  it('every manifest scope is one of its own permissions', () => {
    for (const manifest of [PLATFORM_APP, ...FEATURE_APPS.map((app) => app.manifest)]) {
      for (const scope of manifest.scopes)
        expect(Object.keys(manifest.permissions), `${manifest.name}: ${scope}`).toContain(scope);
    }
  });

  it('the platform API offers every manifest scope once, and the development seed names no other', () => {
    const scopes = resourceScopesOf(FEATURE_APPS);
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(scopes).toEqual(
      expect.arrayContaining(['platform:metrics:read', 'billing:invoices:write', 'analytics:usage:read']),
    );
    expect(undeclaredSeedScopes(scopes)).toEqual([]);
  });

  it('a seed naming a scope no manifest declares is reported (the development provider refuses to start)', () => {
    const withoutBilling = resourceScopesOf(FEATURE_APPS.filter((app) => app.manifest.name !== 'billing'));
    expect(undeclaredSeedScopes(withoutBilling)).toEqual(['billing:invoices:read']);
  });
});
