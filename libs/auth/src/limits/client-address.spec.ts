import { describe, expect, it } from 'vitest';
import { addressKey, anonymousBudgetKey } from './client-address';

describe('addressKey', () => {
  it('keeps IPv4 addresses, and IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:cb00:7107')).toBe('203.0.113.7');
  });

  it('counts IPv6 clients by their /64, however the address is written', () => {
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    // A dotted IPv4 tail is two groups, not one.
    expect(addressKey('1:2::4:5:6:1.2.3.4')).toBe('1:2:0:4::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('public routes and refused tokens spend apart', () => {
    expect(anonymousBudgetKey('203.0.113.7', 'public')).not.toBe(anonymousBudgetKey('203.0.113.7', 'refused'));
  });
});
