import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { parsePolicy, PolicyError } from './policy-document';

/** Parses `text`, expects a PolicyError, and returns it. */
function policyErrorOf(text: string): PolicyError {
  try {
    parsePolicy(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return err as PolicyError;
  }
  throw new Error('expected a PolicyError, but the policy parsed');
}

/** Lines of YAML joined with newlines (line 1 is the first element). */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

const VALID = yaml(
  'roles:', //                                          1
  '  admin:', //                                        2
  '    description: Everything', //                    3
  '    permissions:', //                                4
  '      - "billing:*"', //                             5
  '      - platform:audit:read', //                     6
  '  reader:', //                                       7
  '    description: "Reads invoices"', //               8
  '    permissions: [billing:invoices:read]', //        9
  'scopes:', //                                         10
  '  billing:invoices:write:', //                       11
  '    description: Create invoices', //                12
  '    permissions: [billing:invoices:write, "billing:*:read"]', // 13
);

describe('parsePolicy', () => {
  it('parses roles and scopes with description and permissions', () => {
    expect(parsePolicy(VALID, 'test.yaml')).toEqual({
      roles: {
        admin: { description: 'Everything', permissions: ['billing:*', 'platform:audit:read'], includes: [] },
        reader: { description: 'Reads invoices', permissions: ['billing:invoices:read'], includes: [] },
      },
      scopes: {
        'billing:invoices:write': {
          description: 'Create invoices',
          permissions: ['billing:invoices:write', 'billing:*:read'],
          includes: [],
        },
      },
      roleMappings: [],
    });
  });

  it('accepts a document with only one section', () => {
    expect(parsePolicy(yaml('scopes:', '  s:', '    permissions: [a:b:c]'), 'x')).toEqual({
      roles: {},
      scopes: { s: { description: '', permissions: ['a:b:c'], includes: [] } },
      roleMappings: [],
    });
  });

  it('names the source in the error message', () => {
    const err = policyErrorOf(yaml('roles: {}', 'extra: 1'));
    expect(err.source).toBe('test.yaml');
    expect(err.message).toContain('test.yaml');
    expect(err.message).toContain('line 2:');
  });

  describe('reports each problem with its 1-based line', () => {
    it('an unknown top-level section', () => {
      const err = policyErrorOf(yaml('# comment', 'roles: {}', 'grants:', '  x: 1'));
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^line 3: /);
      expect(err.problems[0]).toContain('"grants"');
    });

    it('an unknown field inside a role', () => {
      const err = policyErrorOf(
        yaml(
          'roles:', //                         1
          '  admin:', //                       2
          '    description: Admin', //         3
          '    permissions: [a:b:c]', //       4
          '    inherits: [reader]', //         5
        ),
      );
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^line 5: /);
      expect(err.problems[0]).toContain('"inherits"');
    });

    it('a bad permission string in a block list', () => {
      const err = policyErrorOf(
        yaml(
          'scopes:', //                        1
          '  s:', //                           2
          '    permissions:', //               3
          '      - billing:invoices:read', //  4
          '      - Billing:Invoices', //       5
          '      - billing:invoices:write', // 6
        ),
      );
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^line 5: /);
      expect(err.problems[0]).toContain('"Billing:Invoices"');
    });

    it('a wildcard app segment in a flow list', () => {
      const err = policyErrorOf(yaml('roles:', '  r:', '    description: d', '    permissions: [a:b:c, "*:*:*"]'));
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^line 4: /);
      expect(err.problems[0]).toContain('"*:*:*"');
    });

    it('a non-string permission', () => {
      const err = policyErrorOf(yaml('roles:', '  r:', '    permissions:', '      - 42'));
      expect(err.problems[0]).toMatch(/^line 4: /);
    });

    it('permissions that are not a list', () => {
      const err = policyErrorOf(
        yaml(
          'roles:', //                          1
          '  r:', //                            2
          '    description: d', //              3
          '    permissions: billing:invoices:read', // 4
        ),
      );
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^line 4: /);
      expect(err.problems[0]).toContain('must be a list');
    });

    it('a duplicate role', () => {
      const err = policyErrorOf(
        yaml(
          'roles:', //                         1
          '  admin:', //                       2
          '    permissions: [a:b:c]', //       3
          '  admin:', //                       4
          '    permissions: ["a:*"]', //       5
        ),
      );
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^line 4: /);
    });

    it('a duplicate field inside a role', () => {
      const err = policyErrorOf(
        yaml('roles:', '  admin:', '    permissions: [a:b:c]', '    description: x', '    permissions: ["a:*"]'),
      );
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^line 5: /);
    });

    it('a duplicate top-level section', () => {
      const err = policyErrorOf(yaml('roles: {}', 'scopes: {}', 'roles: {}'));
      expect(err.problems[0]).toMatch(/^line 3: /);
    });

    it('a YAML syntax error: tab indentation', () => {
      const err = policyErrorOf(yaml('roles:', '  a:', '    permissions: []', '\tb: 1'));
      expect(err.problems.length).toBeGreaterThan(0);
      expect(err.problems[0]).toMatch(/^line 4: /);
    });

    it('a YAML syntax error: nested mapping in a compact mapping', () => {
      const err = policyErrorOf(yaml('roles:', '  a:', '    description: a: b', '    permissions: []'));
      expect(err.problems.length).toBeGreaterThan(0);
      expect(err.problems[0]).toMatch(/^line 3: /);
    });

    it('counts lines the same with CRLF line endings', () => {
      const err = policyErrorOf('roles:\r\n  a:\r\n    permissions: []\r\n    colour: red\r\n');
      expect(err.problems).toEqual([expect.stringMatching(/^line 4: unknown field "colour"/)]);
    });

    it('lists every problem, not only the first', () => {
      const err = policyErrorOf(
        yaml(
          'roles:', //                         1
          '  a:', //                           2
          '    permissions: [BAD]', //         3
          '    colour: red', //                4
          'other: 1', //                       5
        ),
      );
      expect(err.problems).toHaveLength(3);
      expect(err.problems[0]).toMatch(/^line 3: /);
      expect(err.problems[1]).toMatch(/^line 4: /);
      expect(err.problems[2]).toMatch(/^line 5: /);
    });
  });

  it('refuses an invalid role name', () => {
    const err = policyErrorOf(yaml('roles:', '  _hidden:', '    permissions: [a:b:c]'));
    expect(err.problems[0]).toMatch(/^line 2: invalid role name/);
  });

  it('refuses a role that is not a mapping', () => {
    const err = policyErrorOf(yaml('roles:', '  admin: [a:b:c]'));
    expect(err.problems[0]).toMatch(/^line 2: /);
  });

  it('refuses a document that is not a mapping', () => {
    expect(policyErrorOf('- a\n- b\n').problems[0]).toMatch(/^top: /);
    expect(policyErrorOf('').problems[0]).toMatch(/^top: /);
  });

  describe('the real config/policy.yaml', () => {
    const file = path.resolve(__dirname, '../../../../config/policy.yaml');

    it('parses, and admin grants platform:audit:read', () => {
      const policy = parsePolicy(readFileSync(file, 'utf8'), file);
      expect(Object.keys(policy.roles)).toContain('admin');
      expect(policy.roles.admin.permissions).toContain('platform:audit:read');
      expect(Object.keys(policy.scopes).length).toBeGreaterThan(0);
    });
  });
});

describe('cross-reference checks', () => {
  const problemsOf = (text: string, declared?: string[]) => {
    try {
      parsePolicy(text, 'x', declared ? new Set(declared) : undefined);
    } catch (err) {
      return (err as PolicyError).problems;
    }
    return [];
  };

  it('refuses a permission no app declares, naming its line', () => {
    const text = [
      'roles:',
      '  a:',
      '    permissions:',
      '      - billing:invoices:read',
      '      - billing:invocies:read',
    ].join('\n');
    expect(problemsOf(text, ['billing:invoices:read'])).toEqual([
      'line 5: "billing:invocies:read" grants no permission that an app declares',
    ]);
    expect(
      problemsOf(['roles:', '  a:', '    permissions: ["nothing:*"]'].join('\n'), ['billing:invoices:read'])[0],
    ).toMatch(/^line 3: "nothing:\*"/);
  });

  it('refuses include cycles and unknown includes, naming the line', () => {
    const cycle = [
      'roles:',
      '  a:',
      '    permissions: []',
      '    includes: [b]',
      '  b:',
      '    permissions: []',
      '    includes: [a]',
    ].join('\n');
    expect(problemsOf(cycle)).toEqual([
      expect.stringMatching(/^line \d: roles include each other in a cycle: (a -> b -> a|b -> a -> b)$/),
    ]);
    expect(problemsOf(['roles:', '  a:', '    permissions: []', '    includes: [ghost]'].join('\n'))).toEqual([
      'line 4: "a" includes unknown role "ghost"',
    ]);
  });

  it('refuses role mappings to unknown roles or without a target', () => {
    const text = [
      'roles:',
      '  a: { permissions: [] }',
      'roleMappings:',
      '  - { from: g, to: [ghost] }',
      '  - { from: h }',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'line 5: a role mapping needs "from" and a non-empty "to"',
      'line 4: role mapping of "g" names unknown role "ghost"',
    ]);
  });
});
