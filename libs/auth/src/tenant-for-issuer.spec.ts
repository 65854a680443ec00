import { describe, expect, it } from 'vitest';
import type { IssuerConfig } from '@platform/config';
import { AuthFailure } from './auth-failure';
import type { ResolvedIssuer } from './issuer-registry';
import type { Principal } from './principal';
import { tenantForIssuer } from './tenant-for-issuer';

const ISS = 'https://idp.example.com';
const TID = '6e1f0c9a-2f4b-4d8e-9c3a-1b2c3d4e5f60';
const principal = (tenant: string | null): Principal => ({
  subject: 's',
  type: 'user',
  tenant,
  roles: [],
  boundRoles: [],
  scopes: [],
  clientId: null,
  issuer: ISS,
  expiresAt: 0,
  tokenId: null,
  actors: [],
  boundKeyThumbprint: null,
  claims: {},
});
const resolved = (config: Partial<IssuerConfig>, directory?: string) =>
  ({ trusted: { config: { issuer: ISS, ...config } }, directory }) as unknown as ResolvedIssuer;
/** The refusal's details, or 'allowed:<tenant>'. */
function outcome(p: Principal, r: ResolvedIssuer, claims: Record<string, unknown> = {}): unknown {
  try {
    return `allowed:${tenantForIssuer(p, claims, r).tenant}`;
  } catch (err) {
    expect(err).toBeInstanceOf(AuthFailure);
    expect((err as AuthFailure).reason).toBe('tenant_not_allowed_for_issuer');
    return (err as AuthFailure).details;
  }
}

describe('tenantForIssuer', () => {
  it('the single-issuer shorthand speaks for any tenant, and none', () => {
    expect(outcome(principal('acme'), resolved({}))).toBe('allowed:acme');
    expect(outcome(principal(null), resolved({}))).toBe('allowed:null');
  });

  it('a fixed tenant: every token acts in it; a token naming another is refused', () => {
    expect(outcome(principal(null), resolved({ tenant: 'globex' }))).toBe('allowed:globex');
    expect(outcome(principal('globex'), resolved({ tenant: 'globex' }))).toBe('allowed:globex');
    expect(outcome(principal('acme'), resolved({ tenant: 'globex' }))).toEqual({ issuer: ISS, tenant: 'acme' });
  });

  it('an allow-list: listed tenants only; no tenant only when platformWide', () => {
    expect(outcome(principal('acme'), resolved({ tenants: ['acme'] }))).toBe('allowed:acme');
    expect(outcome(principal('globex'), resolved({ tenants: ['acme'] }))).toEqual({ issuer: ISS, tenant: 'globex' });
    expect(outcome(principal(null), resolved({ tenants: ['acme'] }))).toEqual({ issuer: ISS, tenant: null });
    expect(outcome(principal(null), resolved({ tenants: ['acme'], platformWide: true }))).toBe('allowed:null');
  });

  it('Entra multi-tenant: the tid must be the directory of the iss; the principal acts in its mapped tenant', () => {
    const entra = resolved({ entraTenants: { [TID]: 'contoso' } }, TID);
    expect(outcome(principal(TID), entra, { tid: TID })).toBe('allowed:contoso');
    expect(outcome(principal(TID), entra, { tid: TID.toUpperCase() })).toBe('allowed:contoso');
    expect(outcome(principal('x'), entra, { tid: 'x' })).toEqual({ issuer: ISS, tenant: 'x' });
    expect(outcome(principal(null), entra, {})).toEqual({ issuer: ISS, tenant: null });
  });
});
