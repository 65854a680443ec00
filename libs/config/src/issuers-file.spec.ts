import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { concreteIssuers, ENTRA_COMMON_JWKS_URI } from './issuers-file';
import { ConfigError, parsePlatformConfig } from './platform-config';

const dir = mkdtempSync(path.join(tmpdir(), 'issuers-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** Writes `yaml` to a file of its own and parses the configuration naming it. */
function load(yaml: string, env: Record<string, string> = {}) {
  const file = path.join(dir, `issuers-${n++}.yaml`);
  writeFileSync(file, yaml);
  return { file, config: () => parsePlatformConfig({ OIDC_ISSUERS_FILE: file, ...env }, dir) };
}
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const TID = '6e1f0c9a-2f4b-4d8e-9c3a-1b2c3d4e5f60';

describe('the trusted-issuers file (OIDC_ISSUERS_FILE)', () => {
  it('reads several issuers, each with its own settings and tenants; env settings are the defaults; oidc is the first', () => {
    const { config } = load(
      `
issuers:
  - issuer: https://workforce.example.com
    audiences: [platform-api]
    preset: keycloak
    rolesClaim: realm_access.roles
    claimDelimiter: comma
    tenants: [acme, globex]
  - issuer: https://partners.example.com
    audiences: [platform-api, partner-api]
    algorithms: [ES256]
    clockToleranceSeconds: 5
    maxTokenLifetimeSeconds: 600
    tenant: partners
  - issuer: https://login.microsoftonline.com/{tenantid}/v2.0
    audiences: [api://platform]
    entraTenants: { ${TID}: contoso }
`,
      { OIDC_JWKS_REFETCH_INTERVAL_SECONDS: '7' },
    );
    const parsed = config();
    expect(parsed.issuers).toHaveLength(3);
    const [workforce, partners, entra] = parsed.issuers;
    expect(workforce).toMatchObject({
      issuer: 'https://workforce.example.com',
      preset: 'keycloak',
      rolesClaim: 'realm_access.roles',
      claimDelimiter: ',',
      tenants: ['acme', 'globex'],
      jwksRefetchIntervalSeconds: 7,
    });
    expect(partners).toMatchObject({
      algorithms: ['ES256'],
      clockToleranceSeconds: 5,
      maxTokenLifetimeSeconds: 600,
      tenant: 'partners',
      preset: 'generic',
    });
    expect(entra).toMatchObject({
      preset: 'entra',
      jwksUri: ENTRA_COMMON_JWKS_URI,
      entraTenants: { [TID]: 'contoso' },
    });
    expect(concreteIssuers(entra)).toEqual([`https://login.microsoftonline.com/${TID}/v2.0`]);
    expect(parsed.oidc.issuer).toBe('https://workforce.example.com');
  });

  it('OIDC_ISSUER and OIDC_ISSUERS_FILE together are a start error', () => {
    const { config } = load('issuers: [{ issuer: "https://a.example.com", audiences: [x], tenant: t }]', {
      OIDC_ISSUER: 'https://a.example.com',
      OIDC_AUDIENCE: 'x',
    });
    expect(problemsOf(config).join('\n')).toContain('OIDC_ISSUERS_FILE and OIDC_ISSUER are exclusive');
  });

  it('the single OIDC_ISSUER is the one issuer, speaking for any tenant', () => {
    const parsed = parsePlatformConfig({ OIDC_ISSUER: 'https://idp.example.com', OIDC_AUDIENCE: 'api' }, dir);
    expect(parsed.issuers).toEqual([{ ...parsed.oidc, issuer: 'https://idp.example.com' }]);
    expect(parsed.issuers[0].tenant ?? parsed.issuers[0].tenants ?? parsed.issuers[0].entraTenants).toBeUndefined();
  });

  it('each problem names the file, the entry and the field', () => {
    const { file, config } = load(`
issuers:
  - issuer: https://a.example.com
    audiences: [platform-api]
  - issuer: https://b.example.com
    algorithms: [HS256]
    tenant: b
    colour: blue
  - issuer: https://c.example.com
    audiences: [x]
    tenant: c
    tenants: [c]
  - issuer: https://a.example.com
    audiences: [y]
    tenant: d
  - audiences: [z]
    tenant: e
`);
    const problems = problemsOf(config);
    expect(problems).toEqual(
      expect.arrayContaining([
        `${file}: issuers[0] (https://a.example.com): name the tenants it may speak for: tenant (one fixed tenant), tenants (allow-list of the tenant claim) or entraTenants (Entra ID multi-tenant)`,
        `${file}: issuers[1] (https://b.example.com).colour: unknown field (known: ${['issuer', 'preset', 'audiences', 'clientIds', 'algorithms', 'clockToleranceSeconds', 'maxTokenLifetimeSeconds', 'jwksUri', 'claimNamespace', 'tenantClaim', 'rolesClaim', 'groupsClaim', 'claimDelimiter', 'requireAccessTokenType', 'tenant', 'tenants', 'platformWide', 'entraTenants'].join(', ')})`,
        `${file}: issuers[1] (https://b.example.com).algorithms: "HS256" is not an asymmetric JWS algorithm (none and HS* are never accepted)`,
        `${file}: issuers[1] (https://b.example.com).audiences: required (the API identifiers its tokens carry in aud)`,
        `${file}: issuers[2] (https://c.example.com): give only one of tenant, tenants, entraTenants`,
        `${file}: issuers[4].issuer: required`,
      ]),
    );
    // Entry 0 is invalid, so the duplicate is reported only once a valid entry declares it first.
    expect(problems.some((p) => p.includes('issuers[3]'))).toBe(false);
  });

  it('platformWide: only a boolean, only with tenants', () => {
    const { config } = load(`
issuers:
  - { issuer: "https://a.example.com", audiences: [x], tenants: [a], platformWide: true }
`);
    expect(config().issuers[0].platformWide).toBe(true);
    const problems = problemsOf(
      load('issuers: [{ issuer: "https://b.example.com", audiences: [x], tenant: b, platformWide: "yes" }]').config,
    ).join('\n');
    expect(problems).toContain('issuers[0] (https://b.example.com).platformWide: must be true or false');
    expect(problems).toContain('issuers[0] (https://b.example.com).platformWide: only with tenants');
  });

  it('each tenant, and the platform-wide scope, has one issuer (a subject is unique only within its issuer)', () => {
    const problems = problemsOf(
      load(`
issuers:
  - { issuer: "https://a.example.com", audiences: [x], tenants: [acme, initech], platformWide: true }
  - { issuer: "https://b.example.com", audiences: [x], tenant: acme }
  - { issuer: "https://c.example.com", audiences: [x], tenants: [globex], platformWide: true }
  - issuer: "https://login.microsoftonline.com/{tenantid}/v2.0"
    audiences: [x]
    entraTenants: { 6e1f0c9a-2f4b-4d8e-9c3a-1b2c3d4e5f60: initech }
`).config,
    );
    expect(problems).toEqual([
      expect.stringContaining('tenant "acme" is named by https://a.example.com and https://b.example.com'),
      expect.stringContaining('platformWide is set on https://a.example.com and https://c.example.com'),
      expect.stringContaining(
        'tenant "initech" is named by https://a.example.com and https://login.microsoftonline.com/{tenantid}/v2.0',
      ),
    ]);
    // Disjoint tenants and one platform-wide issuer are fine.
    const { config } = load(`
issuers:
  - { issuer: "https://a.example.com", audiences: [x], tenants: [acme], platformWide: true }
  - { issuer: "https://b.example.com", audiences: [x], tenant: globex }
`);
    expect(config().issuers.map((i) => i.issuer)).toEqual(['https://a.example.com', 'https://b.example.com']);
  });

  it('two entries for one iss are refused', () => {
    const { config } = load(`
issuers:
  - { issuer: "https://a.example.com", audiences: [x], tenant: a }
  - { issuer: "https://a.example.com", audiences: [y], tenant: b }
`);
    expect(problemsOf(config).join('\n')).toContain(
      'issuers[1] (https://a.example.com).issuer: "https://a.example.com" is also declared by issuers[0]',
    );
  });

  it('Entra multi-tenant: the placeholder only with entraTenants, directory ids are GUIDs, the entra preset', () => {
    const problems = problemsOf(
      load(`
issuers:
  - { issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", audiences: [x], tenant: a }
  - { issuer: "https://login.microsoftonline.com/common/v2.0", audiences: [x], entraTenants: [${TID}] }
  - { issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", audiences: [x], entraTenants: { not-a-guid: a } }
  - { issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", audiences: [x], preset: okta, entraTenants: [${TID}] }
`).config,
    ).join('\n');
    expect(problems).toContain(
      'issuers[0] (https://login.microsoftonline.com/{tenantid}/v2.0).issuer: contains {tenantid}, which only an Entra ID multi-tenant entry (entraTenants) may',
    );
    expect(problems).toContain(
      'issuers[1] (https://login.microsoftonline.com/common/v2.0).entraTenants: the issuer must be the tenant-specific template',
    );
    expect(problems).toContain('entraTenants: "not-a-guid" is not a directory id (a GUID)');
    expect(problems).toContain(
      'issuers[3] (https://login.microsoftonline.com/{tenantid}/v2.0).preset: an Entra ID multi-tenant entry uses the entra preset',
    );
  });

  it('a list of directory ids maps each to a tenant of the same name', () => {
    const parsed = load(
      `issuers: [{ issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", audiences: [x], entraTenants: [${TID.toUpperCase()}] }]`,
    ).config();
    expect(parsed.issuers[0].entraTenants).toEqual({ [TID]: TID.toUpperCase() });
  });

  it('production: https issuers and key URLs only', () => {
    const problems = problemsOf(
      load(
        'issuers: [{ issuer: "http://idp.example.com", audiences: [x], tenant: a, jwksUri: "http://idp.example.com/jwks" }]',
        { NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://api.example.com' },
      ).config,
    ).join('\n');
    expect(problems).toContain('issuers[0] (http://idp.example.com).issuer: must be https:// when NODE_ENV=production');
    expect(problems).toContain('.jwksUri: must be https:// when NODE_ENV=production');
    expect(problems).not.toContain('OIDC_ISSUER is required');
  });

  it('a missing file or one without issuers is a start error naming it', () => {
    expect(problemsOf(() => parsePlatformConfig({ OIDC_ISSUERS_FILE: path.join(dir, 'nope.yaml') }, dir))).toEqual([
      `OIDC_ISSUERS_FILE: cannot read ${path.join(dir, 'nope.yaml')}`,
    ]);
    const { file, config } = load('issuers: []');
    expect(problemsOf(config)).toEqual([`${file}: must have a non-empty "issuers" list`]);
  });
});

describe('config/issuers.example.yaml', () => {
  it('is a valid issuers file (the documented example works as written)', () => {
    const example = path.resolve(__dirname, '../../../config/issuers.example.yaml');
    const parsed = parsePlatformConfig(
      { NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://api.example.com', OIDC_ISSUERS_FILE: example },
      dir,
    );
    expect(parsed.issuers.map((i) => i.tenant ?? i.tenants ?? i.entraTenants)).toEqual([
      ['acme', 'globex'],
      'partner',
      { '6e1f0c9a-2f4b-4d8e-9c3a-1b2c3d4e5f60': 'contoso', '0b7e5d2c-8a4f-4e1d-b3c2-a9f8e7d6c5b4': 'fabrikam' },
    ]);
  });
});

describe('an audience no token for this API could carry', () => {
  it('the issuer itself as the audience is a start error (env and file)', () => {
    expect(
      problemsOf(() =>
        parsePlatformConfig({ OIDC_ISSUER: 'https://idp.example.com', OIDC_AUDIENCE: 'https://idp.example.com/' }, dir),
      ).join('\n'),
    ).toContain('OIDC_AUDIENCE: "https://idp.example.com/" is the issuer itself, not this API');
    expect(
      problemsOf(
        load('issuers: [{ issuer: "https://a.example.com/", audiences: ["https://a.example.com"], tenant: a }]').config,
      ).join('\n'),
    ).toContain(
      'issuers[0] (https://a.example.com/).audiences: "https://a.example.com" is the issuer itself, not this API',
    );
  });
});
