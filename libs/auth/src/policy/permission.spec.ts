import { describe, it, expect } from 'vitest';
import { compilePattern, isExactPermission, isPermissionPattern, patternMatches } from './permission';

/** True when grant `pattern` covers the exact `permission`. */
const covers = (pattern: string, permission: string) => patternMatches(compilePattern(pattern), permission.split(':'));

describe('isExactPermission', () => {
  it.each(['billing:invoices:read', 'platform:audit:read', 'users:user-roles:write', 'a1:b2:c3'])(
    'accepts %s',
    (value) => {
      expect(isExactPermission(value)).toBe(true);
    },
  );

  it.each([
    ['a wildcard segment', 'billing:*:read'],
    ['a trailing wildcard', 'billing:*'],
    ['two segments', 'billing:invoices'],
    ['four segments', 'billing:invoices:read:all'],
    ['one segment', 'billing'],
    ['upper case', 'Billing:invoices:read'],
    ['an empty segment', 'billing::read'],
    ['a segment starting with a digit', 'billing:1invoices:read'],
    ['a segment starting with a dash', 'billing:-invoices:read'],
    ['a space', 'billing:invoices:read '],
    ['the empty string', ''],
  ])('refuses %s (%s)', (_label, value) => {
    expect(isExactPermission(value)).toBe(false);
  });
});

describe('isPermissionPattern', () => {
  it.each(['billing:invoices:read', 'billing:*', 'billing:*:read', 'billing:invoices:*', 'billing:*:*'])(
    'accepts %s',
    (value) => {
      expect(isPermissionPattern(value)).toBe(true);
    },
  );

  it.each([
    ['a wildcard first segment (3 segments)', '*:*:*'],
    ['a wildcard first segment (2 segments)', '*:invoices'],
    ['a wildcard alone', '*'],
    ['a wildcard app with a fixed rest', '*:invoices:read'],
    ['one segment without wildcard', 'billing'],
    ['two segments without trailing wildcard', 'billing:invoices'],
    ['four segments', 'billing:invoices:read:all'],
    ['upper case app', 'BILLING:*'],
    ['upper case action', 'billing:invoices:READ'],
    ['an empty segment', 'billing::read'],
    ['an empty trailing segment', 'billing:*:'],
    ['a partial wildcard', 'billing:inv*:read'],
    ['the empty string', ''],
  ])('refuses %s (%s)', (_label, value) => {
    expect(isPermissionPattern(value)).toBe(false);
  });
});

describe('compilePattern', () => {
  it('splits a pattern into its segments', () => {
    expect(compilePattern('billing:*:read')).toEqual(['billing', '*', 'read']);
    expect(compilePattern('billing:*')).toEqual(['billing', '*']);
  });
});

describe('patternMatches', () => {
  it('a trailing * covers every remaining segment', () => {
    expect(covers('billing:*', 'billing:invoices:read')).toBe(true);
    expect(covers('billing:*', 'billing:customers:write')).toBe(true);
    expect(covers('billing:invoices:*', 'billing:invoices:write')).toBe(true);
  });

  it('a trailing * stays within its app', () => {
    expect(covers('billing:*', 'analytics:events:read')).toBe(false);
    expect(covers('billing:*', 'billingx:invoices:read')).toBe(false);
    expect(covers('billing:invoices:*', 'billing:customers:read')).toBe(false);
  });

  it('a middle * covers exactly one segment', () => {
    expect(covers('billing:*:read', 'billing:invoices:read')).toBe(true);
    expect(covers('billing:*:read', 'billing:customers:read')).toBe(true);
    expect(covers('billing:*:read', 'billing:invoices:write')).toBe(false);
    expect(covers('billing:*:read', 'analytics:events:read')).toBe(false);
  });

  it('an exact grant covers only itself', () => {
    expect(covers('billing:invoices:read', 'billing:invoices:read')).toBe(true);
    expect(covers('billing:invoices:read', 'billing:invoices:write')).toBe(false);
  });

  it('never matches by substring or prefix', () => {
    expect(covers('billing:invoices:read', 'billing:invoices:readall')).toBe(false);
    expect(covers('billing:invoices:read', 'billing:invoices')).toBe(false);
    expect(covers('billing:invoices:read', 'billing:invoices:read:extra')).toBe(false);
    expect(covers('billing:invoice:read', 'billing:invoices:read')).toBe(false);
    expect(covers('billing:*:read', 'billing:invoices:read:extra')).toBe(false);
  });

  it('works on a pattern compiled once and reused', () => {
    const compiled = compilePattern('users:*:read');
    expect(patternMatches(compiled, ['users', 'profiles', 'read'])).toBe(true);
    expect(patternMatches(compiled, ['users', 'profiles', 'delete'])).toBe(false);
    expect(patternMatches(compiled, ['users', 'roles', 'read'])).toBe(true);
  });
});

describe('@RequirePermissions validates at decoration time', () => {
  it('refuses wildcards, short permissions and an empty list', async () => {
    const { RequirePermissions } = await import('../route-policy');
    expect(() => RequirePermissions('billing:*')).toThrow(/not an exact/);
    expect(() => RequirePermissions('billing:invoices')).toThrow(/not an exact/);
    expect(() => RequirePermissions()).toThrow(/at least one/);
    expect(() => RequirePermissions('billing:invoices:read', { tenant: 'optional' })).not.toThrow();
  });
});
