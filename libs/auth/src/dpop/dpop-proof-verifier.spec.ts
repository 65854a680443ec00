import { describe, expect, it } from 'vitest';
import { normalizedTarget } from './dpop-proof-verifier';

describe('normalizedTarget (RFC 9449 section 4.3, htu)', () => {
  it('ignores query and fragment, case of scheme and host, the default port, dot segments', () => {
    const expected = 'https://api.example.com/billing/invoices';
    for (const url of [
      'https://api.example.com/billing/invoices?x=1#f',
      'HTTPS://API.Example.COM:443/billing/invoices',
      'https://api.example.com/billing/./x/../invoices',
    ]) {
      expect(normalizedTarget(url)).toBe(expected);
    }
  });

  it('keeps what matters: another port, scheme, path or case of the path differ', () => {
    const base = normalizedTarget('https://api.example.com/billing/invoices');
    for (const url of [
      'https://api.example.com:8443/billing/invoices',
      'http://api.example.com/billing/invoices',
      'https://api.example.com/billing/Invoices',
      'https://api.example.com/billing/invoices/',
    ]) {
      expect(normalizedTarget(url)).not.toBe(base);
    }
  });

  it('never matches what it cannot parse', () => {
    expect(normalizedTarget('not a url')).toBeUndefined();
    expect(normalizedTarget('')).toBeUndefined();
  });
});
