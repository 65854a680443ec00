import { describe, expect, it } from 'vitest';
import type { Principal } from '../principal';
import type { RoutePolicy } from '../route-policy';
import type { VerifiedToken } from '../verified-token';
import { knownAllow, rememberAllow } from './known-allow';

const principal = { subject: 'alice', boundKeyThumbprint: null } as unknown as Principal;
const charge = { app: 'billing', kind: 'user', key: 'k', id: 'i' } as const;
const route = (permission: string): RoutePolicy => ({
  kind: 'permissions',
  permissions: [permission],
  tenant: 'required',
});
const remember = (token: VerifiedToken, on: RoutePolicy, access = 1) =>
  rememberAllow(token, on, charge, { access, policy: 1 }, principal, 'permission_granted');

describe('known allows of a verified token', () => {
  it('one route is held without a Map; a second route keeps both, each known on its own route only', () => {
    const token: VerifiedToken = { principal };
    const read = route('billing:invoices:read');
    const write = route('billing:invoices:write');
    remember(token, read);
    expect(token.allowed).not.toBeInstanceOf(Map);
    expect(knownAllow(token, read, 'billing', 1, 1)?.reason).toBe('permission_granted');
    expect(knownAllow(token, write, 'billing', 1, 1)).toBeUndefined();
    remember(token, write);
    expect(token.allowed).toBeInstanceOf(Map);
    expect(knownAllow(token, read, 'billing', 1, 1)?.route).toBe(read);
    expect(knownAllow(token, write, 'billing', 1, 1)?.route).toBe(write);
  });

  it('an allow decided on other access-state or policy versions, or in another app, is not known', () => {
    const token: VerifiedToken = { principal };
    const read = route('billing:invoices:read');
    remember(token, read);
    expect(knownAllow(token, read, 'billing', 2, 1)).toBeUndefined();
    expect(knownAllow(token, read, 'billing', 1, 2)).toBeUndefined();
    expect(knownAllow(token, read, 'analytics', 1, 1)).toBeUndefined();
    remember(token, read, 2);
    expect(knownAllow(token, read, 'billing', 2, 1)).toBeDefined();
    expect(token.allowed).not.toBeInstanceOf(Map);
  });

  it('holds at most 64 routes per token, then starts again', () => {
    const token: VerifiedToken = { principal };
    const routes = Array.from({ length: 65 }, (_, i) => route(`app:thing:read${i}`));
    for (const r of routes) remember(token, r);
    expect((token.allowed as Map<RoutePolicy, unknown>).size).toBe(1);
    expect(knownAllow(token, routes[64], 'billing', 1, 1)).toBeDefined();
    expect(knownAllow(token, routes[0], 'billing', 1, 1)).toBeUndefined();
  });

  it('never remembers an allow for a DPoP-bound token', () => {
    const token: VerifiedToken = { principal: { ...principal, boundKeyThumbprint: 'jkt' } };
    remember(token, route('billing:invoices:read'));
    expect(token.allowed).toBeUndefined();
  });
});
