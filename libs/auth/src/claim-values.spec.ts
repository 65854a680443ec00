import { describe, expect, it } from 'vitest';
import { AuthFailure } from './auth-failure';
import { claimValues, groupsOverage, readClaimPath } from './claim-values';

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as AuthFailure;
  }
  throw new Error('no failure');
};

describe('claim paths, joined strings and groups overage', () => {
  it('reads a top-level claim by its exact name first (names may hold dots), else walks the dotted path', () => {
    const claims = {
      'https://platform.example/roles': ['a'],
      realm_access: { roles: ['b'] },
      'realm_access.roles': undefined,
      x: { y: 'not-an-object' },
    };
    expect(readClaimPath(claims, 'https://platform.example/roles')).toEqual(['a']);
    expect(readClaimPath({ realm_access: { roles: ['b'] } }, 'realm_access.roles')).toEqual(['b']);
    expect(readClaimPath(claims, 'x.y.z')).toBeUndefined();
    expect(readClaimPath(claims, 'missing.path')).toBeUndefined();
    expect(readClaimPath({ a: { constructor: 1 } }, 'b.constructor')).toBeUndefined();
    expect(readClaimPath({}, 'toString')).toBeUndefined();
  });

  it('a single string is one value; with a delimiter, the values it joins', () => {
    expect(claimValues('billing-manager', 'roles')).toEqual(['billing-manager']);
    expect(claimValues('billing-manager,analyst', 'roles')).toEqual(['billing-manager,analyst']);
    expect(claimValues('billing-manager, analyst,,billing-manager', 'roles', ',')).toEqual([
      'billing-manager',
      'analyst',
    ]);
    expect(claimValues('a  b', 'groups', ' ')).toEqual(['a', 'b']);
    expect(claimValues(['a', 'a', 'b'], 'roles')).toEqual(['a', 'b']);
    expect(claimValues('', 'roles')).toEqual([]);
    expect(claimValues(null, 'roles')).toEqual([]);
  });

  it('any other shape is malformed_claims naming the claim, never its value', () => {
    for (const bad of [5, { a: 1 }, ['a', 1], true]) {
      const err = failure(() => claimValues(bad, 'realm_access.roles'));
      expect(err.reason).toBe('malformed_claims');
      expect(err.message).toBe('The access token\'s claim "realm_access.roles" has the wrong type or shape.');
      expect(err.problemExtensions).toEqual({ claim: 'realm_access.roles' });
    }
  });

  it('recognises the Entra ID groups overage (and nothing else)', () => {
    expect(
      groupsOverage({
        _claim_names: { groups: 'src1' },
        _claim_sources: { src1: { endpoint: 'https://graph.example/x' } },
      }),
    ).toBe(true);
    expect(groupsOverage({ hasgroups: true })).toBe(true);
    expect(groupsOverage({ groups: ['a'] })).toBe(false);
    expect(groupsOverage({ _claim_names: { other: 'src1' }, hasgroups: 'true' })).toBe(false);
  });
});
