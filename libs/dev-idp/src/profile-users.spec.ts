import { describe, expect, it } from 'vitest';
import { findDevUser, profileUsername } from './profile-users';

describe('development provider test profiles', () => {
  it('describes a person of a tenant with exactly the given roles', () => {
    const name = profileUsername('e2e-1a2b', ['billing-manager', 'analyst']);
    expect(name).toBe('profile:e2e-1a2b:billing-manager,analyst');
    expect(findDevUser(name)).toMatchObject({
      username: name,
      tenant: 'e2e-1a2b',
      roles: ['billing-manager', 'analyst'],
      email: expect.stringMatching(/@profiles\.test$/) as unknown,
    });
  });

  it('allows no tenant and no role', () => {
    expect(findDevUser(profileUsername(null, ['platform-operator']))).toMatchObject({
      tenant: null,
      roles: ['platform-operator'],
    });
    expect(findDevUser(profileUsername('acme', []))).toMatchObject({ tenant: 'acme', roles: [] });
  });

  it('refuses names outside lower-case letters, digits and dashes; unknown plain names are no user', () => {
    expect(() => profileUsername('Acme', ['admin'])).toThrow(/invalid test profile/);
    expect(() => profileUsername('acme', ['admin:x'])).toThrow(/invalid test profile/);
    expect(findDevUser('profile:acme:admin:extra')).toBeUndefined();
    expect(findDevUser('mallory')).toBeUndefined();
    expect(findDevUser('bob')).toMatchObject({ tenant: 'acme', roles: ['billing-manager'] });
  });
});
