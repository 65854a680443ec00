import type { Principal } from './principal';

/** The issuer of {@link samplePrincipal}'s principals. */
export const SAMPLE_ISSUER = 'https://issuer.example';

/**
 * A person of tenant `t1` with no role, scope or actor, valid until 2096 (`expiresAt` in epoch
 * seconds), for specs; `overrides` replace any field.
 */
export function samplePrincipal(overrides: Partial<Principal> = {}): Principal {
  return {
    subject: 'alice',
    type: 'user',
    tenant: 't1',
    roles: [],
    boundRoles: [],
    scopes: [],
    clientId: 'web',
    issuer: SAMPLE_ISSUER,
    expiresAt: 4_000_000_000,
    tokenId: null,
    actors: [],
    boundKeyThumbprint: null,
    claims: {},
    ...overrides,
  };
}
