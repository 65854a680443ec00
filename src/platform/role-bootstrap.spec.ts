import { describe, expect, it } from 'vitest';
import { parseBootstrap } from './role-bootstrap';

const ISS = 'https://idp.example';
const roles = new Set(['admin', 'analyst', 'platform-operator']);
const parse = (text: string) => parseBootstrap(text, 'config/bootstrap.yaml', ISS, (r) => roles.has(r));
const problems = (text: string) => {
  try {
    parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  return 'valid';
};

describe('bootstrap document', () => {
  it('reads tenant grants and platform grants, in YAML or JSON', () => {
    expect(
      parse(
        'grants:\n  - { subject: alice, tenant: acme, roles: [admin] }\n  - { subject: olivia, issuer: "https://idp.example", roles: [platform-operator] }',
      ),
    ).toEqual([
      { subject: 'alice', tenant: 'acme', roles: ['admin'], issuer: undefined },
      { subject: 'olivia', issuer: ISS, roles: ['platform-operator'], tenant: undefined },
    ]);
    expect(parse('{"grants":[{"subject":"a","tenant":"t","roles":["analyst"]}]}')).toHaveLength(1);
  });

  it('lists every problem by entry: unknown role, tenant role without tenant, another issuer, bad shapes', () => {
    const message = problems(
      'grants:\n  - { subject: a, tenant: acme, roles: [owner] }\n  - { subject: b, roles: [admin] }\n  - { subject: c, issuer: "https://evil.example", roles: [platform-operator] }\n  - { subject: "", roles: [] }\n  - { subject: d, tenant: acme, roles: [admin], extra: 1 }',
    );
    expect(message).toContain('grants[0]: role "owner" is not defined in the policy');
    expect(message).toContain('grants[1]: role "admin" is a tenant role: give the tenant');
    expect(message).toContain('grants[2].issuer "https://evil.example" is not a trusted issuer');
    expect(message).toContain('grants[3].subject must be a non-empty string');
    expect(message).toContain('grants[3].roles must be a non-empty list');
    expect(message).toContain('grants[4] has unknown keys extra');
    expect(problems('grants: nope')).toContain('expected "grants:"');
    expect(problems('grants: [')).toContain('not valid YAML or JSON');
  });
});
