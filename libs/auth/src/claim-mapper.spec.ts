import { describe, expect, it } from 'vitest';
import { AuthFailure } from './auth-failure';
import { readActors, readBoundKeyThumbprint } from './claim-mapper';

const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as AuthFailure).reason;
  }
  return 'no error';
};

describe('readActors (RFC 8693 section 4.1 act)', () => {
  it('reads a chain, current actor first', () => {
    expect(readActors(undefined)).toEqual([]);
    expect(readActors({ sub: 'agent-b', client_id: 'b', act: { sub: 'agent-a' } })).toEqual([
      { subject: 'agent-b', clientId: 'b' },
      { subject: 'agent-a', clientId: null },
    ]);
  });

  it('refuses any other shape as malformed_claims', () => {
    for (const bad of [
      'agent',
      ['agent'],
      {},
      { sub: '' },
      { sub: 1 },
      { sub: 'a', client_id: 2 },
      { sub: 'a', act: 'b' },
    ]) {
      expect(reason(() => readActors(bad))).toBe('malformed_claims');
    }
    let deep: Record<string, unknown> = { sub: 'a' };
    for (let i = 0; i < 20; i++) deep = { sub: `a${i}`, act: deep };
    expect(reason(() => readActors(deep))).toBe('malformed_claims');
  });
});

describe('readBoundKeyThumbprint (RFC 9449 section 6.1 cnf.jkt)', () => {
  const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

  it('reads cnf.jkt; no cnf is a plain bearer token', () => {
    expect(readBoundKeyThumbprint({ jkt })).toBe(jkt);
    expect(readBoundKeyThumbprint(undefined)).toBeNull();
  });

  it('refuses bindings it cannot check rather than treating the token as bearer', () => {
    expect(reason(() => readBoundKeyThumbprint({ 'x5t#S256': 'abc' }))).toBe('unsupported_token_binding');
    expect(reason(() => readBoundKeyThumbprint({ jkt: 'short' }))).toBe('malformed_claims');
    expect(reason(() => readBoundKeyThumbprint('jkt'))).toBe('malformed_claims');
  });
});
