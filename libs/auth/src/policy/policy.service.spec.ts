import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import type { PlatformConfig } from '@platform/config';
import type { Principal } from '../principal';
import { parsePolicy, PolicyError } from './policy-document';
import { PolicyService } from './policy.service';

const POLICY = `
roles:
  admin:
    description: Everything in the apps
    permissions: ["billing:*", "analytics:*", platform:audit:read]
  billing-manager:
    permissions: [billing:invoices:read, billing:invoices:write]
  billing-reader:
    permissions: ["billing:*:read"]
  analyst:
    permissions: [analytics:events:read]
scopes:
  billing:invoices:read:
    permissions: [billing:invoices:read]
  billing:invoices:write:
    permissions: [billing:invoices:write]
  billing:all:
    permissions: ["billing:*"]
  analytics:events:write:
    permissions: [analytics:events:write]
`;

function principal(overrides: Partial<Principal>): Principal {
  return {
    subject: 'subject-1',
    type: 'user',
    tenant: 'tenant-1',
    roles: [],
    boundRoles: [],
    scopes: [],
    clientId: null,
    issuer: 'https://idp.example',
    expiresAt: 2_000_000_000,
    tokenId: null,
    actors: [],
    boundKeyThumbprint: null,
    claims: {},
    ...overrides,
  };
}

const user = (roles: string[], scopes: string[] = []) => principal({ type: 'user', roles, scopes });
const service = (scopes: string[], roles: string[] = []) =>
  principal({ type: 'service', subject: 'client-1', clientId: 'client-1', roles, scopes });

function serviceWith(text = POLICY): PolicyService {
  const policy = new PolicyService({} as PlatformConfig);
  policy.use(parsePolicy(text, 'test.yaml'));
  return policy;
}

describe('PolicyService.decide', () => {
  describe('delegated principals (an actor for a person): both must grant', () => {
    const delegated = (roles: string[], scopes: string[]) =>
      principal({ type: 'user', roles, scopes, clientId: 'agent', actors: [{ subject: 'agent', clientId: 'agent' }] });

    it('allows only what the roles and the scopes both grant', () => {
      expect(
        serviceWith().decide(delegated(['billing-manager'], ['billing:invoices:read']), ['billing:invoices:read']),
      ).toEqual({
        allowed: true,
        missing: [],
        basis: 'delegation',
        missingForSubject: [],
        missingForActor: [],
      });
    });

    it("says whose grant is missing: the person's, the actor's, or both", () => {
      const policy = serviceWith();
      // The agent's scope would allow writing; the person (billing-reader) may only read.
      expect(
        policy.decide(delegated(['billing-reader'], ['billing:invoices:read']), [
          'billing:invoices:read',
          'analytics:events:write',
        ]),
      ).toMatchObject({
        allowed: false,
        missing: ['analytics:events:write'],
        missingForSubject: ['analytics:events:write'],
        missingForActor: ['analytics:events:write'],
      });
      expect(policy.decide(delegated(['admin'], ['billing:invoices:read']), ['analytics:events:write'])).toMatchObject({
        allowed: false,
        missingForSubject: [],
        missingForActor: ['analytics:events:write'],
      });
      expect(policy.decide(delegated(['analyst'], ['billing:invoices:read']), ['billing:invoices:read'])).toMatchObject(
        {
          allowed: false,
          missingForSubject: ['billing:invoices:read'],
          missingForActor: [],
        },
      );
    });
  });

  describe('user principals: permissions come from roles', () => {
    it('allows what a role grants exactly', () => {
      expect(serviceWith().decide(user(['billing-manager']), ['billing:invoices:write'])).toEqual({
        allowed: true,
        missing: [],
        basis: 'roles',
      });
    });

    it('allows what a role grants by wildcard', () => {
      const policy = serviceWith();
      expect(
        policy.decide(user(['admin']), ['billing:invoices:read', 'analytics:events:write', 'platform:audit:read'])
          .allowed,
      ).toBe(true);
      expect(policy.decide(user(['billing-reader']), ['billing:customers:read']).allowed).toBe(true);
      expect(policy.decide(user(['billing-reader']), ['billing:customers:write']).allowed).toBe(false);
    });

    it('unions the grants of several roles', () => {
      const decision = serviceWith().decide(user(['analyst', 'billing-manager']), [
        'analytics:events:read',
        'billing:invoices:read',
      ]);
      expect(decision).toEqual({ allowed: true, missing: [], basis: 'roles' });
    });

    it('lists exactly the missing permissions, in required order', () => {
      const decision = serviceWith().decide(user(['analyst']), [
        'billing:invoices:write',
        'analytics:events:read',
        'platform:audit:read',
      ]);
      expect(decision).toEqual({
        allowed: false,
        missing: ['billing:invoices:write', 'platform:audit:read'],
        basis: 'roles',
      });
    });

    it('ignores the scopes of a user', () => {
      const decision = serviceWith().decide(user([], ['billing:all', 'billing:invoices:read']), [
        'billing:invoices:read',
      ]);
      expect(decision).toEqual({ allowed: false, missing: ['billing:invoices:read'], basis: 'roles' });
    });

    it('grants nothing for an unknown role', () => {
      const decision = serviceWith().decide(user(['superuser']), ['billing:invoices:read']);
      expect(decision).toEqual({ allowed: false, missing: ['billing:invoices:read'], basis: 'roles' });
    });

    it('grants nothing for role names that are Object prototype members', () => {
      const policy = serviceWith();
      for (const role of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        expect(policy.decide(user([role]), ['billing:invoices:read']).allowed).toBe(false);
      }
    });

    it('does not confuse a role name with a scope name', () => {
      // "billing:invoices:read" is a scope, not a role.
      expect(serviceWith().decide(user(['billing:invoices:read']), ['billing:invoices:read']).allowed).toBe(false);
    });

    it('grants nothing without roles', () => {
      expect(serviceWith().decide(user([]), ['analytics:events:read']).missing).toEqual(['analytics:events:read']);
    });

    it('allows an empty requirement', () => {
      expect(serviceWith().decide(user([]), [])).toEqual({ allowed: true, missing: [], basis: 'roles' });
    });
  });

  describe('service principals: permissions come only from scopes', () => {
    it('allows what its scopes grant', () => {
      const policy = serviceWith();
      expect(policy.decide(service(['billing:invoices:read']), ['billing:invoices:read'])).toEqual({
        allowed: true,
        missing: [],
        basis: 'scopes',
      });
      expect(policy.decide(service(['billing:all']), ['billing:invoices:write']).allowed).toBe(true);
    });

    it('ignores its roles, even admin', () => {
      const decision = serviceWith().decide(service([], ['admin']), ['billing:invoices:read', 'platform:audit:read']);
      expect(decision).toEqual({
        allowed: false,
        missing: ['billing:invoices:read', 'platform:audit:read'],
        basis: 'scopes',
      });
    });

    it('ignores admin even alongside a real scope', () => {
      const decision = serviceWith().decide(service(['billing:invoices:read'], ['admin']), [
        'billing:invoices:read',
        'billing:invoices:write',
      ]);
      expect(decision).toEqual({ allowed: false, missing: ['billing:invoices:write'], basis: 'scopes' });
    });

    it('grants nothing for an unknown scope or a role name used as a scope', () => {
      const policy = serviceWith();
      expect(policy.decide(service(['openid', 'profile']), ['billing:invoices:read']).allowed).toBe(false);
      expect(policy.decide(service(['admin']), ['billing:invoices:read']).allowed).toBe(false);
    });
  });

  it('gives the same answer on repeated (memoised) checks', () => {
    const policy = serviceWith();
    const p = user(['analyst']);
    for (let i = 0; i < 3; i++) {
      expect(policy.decide(p, ['analytics:events:read']).allowed).toBe(true);
      expect(policy.decide(p, ['billing:invoices:read']).allowed).toBe(false);
    }
  });

  it('forgets compiled grants when a new policy is used', () => {
    const policy = serviceWith();
    const p = user(['analyst']);
    expect(policy.decide(p, ['analytics:events:read']).allowed).toBe(true);
    policy.use(parsePolicy('roles:\n  analyst:\n    permissions: [analytics:dashboards:read]\n', 'v2.yaml'));
    expect(policy.decide(p, ['analytics:events:read']).allowed).toBe(false);
    expect(policy.decide(p, ['analytics:dashboards:read']).allowed).toBe(true);
  });
});

describe('PolicyService.scopesGranting', () => {
  it('lists every scope whose grants cover the permission', () => {
    const policy = serviceWith();
    expect(policy.scopesGranting('billing:invoices:read')).toEqual(['billing:invoices:read', 'billing:all']);
    expect(policy.scopesGranting('billing:invoices:write')).toEqual(['billing:invoices:write', 'billing:all']);
    expect(policy.scopesGranting('analytics:events:write')).toEqual(['analytics:events:write']);
  });

  it('lists no scope when none covers the permission', () => {
    expect(serviceWith().scopesGranting('platform:audit:read')).toEqual([]);
  });
});

describe('PolicyService.onModuleInit', () => {
  const repoRoot = path.resolve(__dirname, '../../../..');

  it('loads the policy file named by the configuration', () => {
    const policy = new PolicyService({ policyFile: path.join(repoRoot, 'config/policy.yaml') } as PlatformConfig);
    policy.onModuleInit();
    expect(policy.current.roles.admin.permissions).toContain('platform:audit:read');
    expect(policy.decide(user(['admin']), ['platform:audit:read']).allowed).toBe(true);
    expect(policy.decide(service([], ['admin']), ['platform:audit:read']).allowed).toBe(false);
  });

  it('starts with an empty policy that grants nothing', () => {
    const policy = new PolicyService({} as PlatformConfig);
    expect(policy.current).toEqual({ roles: {}, scopes: {}, roleMappings: [] });
    expect(policy.decide(user(['admin']), ['billing:invoices:read']).allowed).toBe(false);
  });

  it('rejects an invalid policy before using any of it', () => {
    const policy = serviceWith();
    expect(() => policy.use(parsePolicy('roles:\n  admin:\n    permissions: ["*:*:*"]\n', 'bad.yaml'))).toThrow(
      PolicyError,
    );
    // The previous policy stays in force.
    expect(policy.decide(user(['analyst']), ['analytics:events:read']).allowed).toBe(true);
  });
});

describe('grant memo keys', () => {
  it('keeps role lists that join to the same string apart', () => {
    const service = new PolicyService({} as never);
    service.use(parsePolicy('roles:\n  admin:\n    permissions: [billing:invoices:read]\n', 't'));
    const user = (roles: string[]) => ({
      subject: 's',
      type: 'user' as const,
      tenant: 't',
      roles,
      boundRoles: [],
      scopes: [],
      clientId: null,
      issuer: 'i',
      expiresAt: 0,
      actors: [],
      boundKeyThumbprint: null,
      tokenId: null,
      claims: {},
    });
    expect(service.decide(user(['admin', 'x']), ['billing:invoices:read']).allowed).toBe(true);
    expect(service.decide(user(['admin\u0000x']), ['billing:invoices:read']).allowed).toBe(false);
  });
});

describe('role includes and role mappings', () => {
  const doc = parsePolicy(
    [
      'roles:',
      '  reader: { permissions: [billing:invoices:read] }',
      '  writer: { permissions: [billing:invoices:write], includes: [reader] }',
      '  admin: { permissions: [users:users:read], includes: [writer] }',
      'roleMappings:',
      '  - { from: billing-managers, to: [writer] }',
      '  - { from: Billing.Manager, tenant: t-entra, to: [admin] }',
    ].join('\n'),
    'inline',
  );
  const person = (roles: string[], tenant = 't1') => ({
    subject: 's',
    type: 'user' as const,
    tenant,
    roles,
    boundRoles: [],
    scopes: [],
    clientId: null,
    issuer: 'i',
    expiresAt: 0,
    actors: [],
    boundKeyThumbprint: null,
    tokenId: null,
    claims: {},
  });
  const service = new PolicyService({} as never);
  service.use(doc);

  it('a role grants what it includes, transitively', () => {
    expect(
      service.decide(person(['admin']), ['billing:invoices:read', 'billing:invoices:write', 'users:users:read'])
        .allowed,
    ).toBe(true);
    expect(service.decide(person(['reader']), ['billing:invoices:write']).missing).toEqual(['billing:invoices:write']);
  });

  it('mappings apply to the token\u2019s roles only, never to roles bound in the platform', () => {
    const mapped = new PolicyService({} as never);
    mapped.use(
      parsePolicy(
        [
          'roles:',
          '  analyst: { permissions: [] }',
          '  admin: { permissions: [users:users:read] }',
          'roleMappings:',
          '  - { from: analyst, to: [admin] }',
        ].join('\n'),
        'inline',
      ),
    );
    expect(mapped.effectiveRoles({ roles: [], boundRoles: ['analyst'], tenant: 't1' })).toEqual(['analyst']);
    expect(mapped.effectiveRoles({ roles: ['analyst'], tenant: 't1' })).toEqual(['analyst', 'admin']);
  });

  it('maps identity-provider groups to platform roles, per tenant where the mapping says so', () => {
    expect(service.effectiveRoles(person(['billing-managers']))).toEqual(['writer', 'reader']);
    expect(service.decide(person(['Billing.Manager'], 't-entra'), ['users:users:read']).allowed).toBe(true);
    expect(service.decide(person(['Billing.Manager'], 'other'), ['users:users:read']).allowed).toBe(false);
  });
});
