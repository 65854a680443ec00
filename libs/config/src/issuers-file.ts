import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { OidcConfig } from './oidc-config';
import { ALLOWED_ALGORITHMS, CLAIM_PRESETS, DEFAULT_ALGORITHMS, type ClaimPresetName } from './platform-env.schema';

/** Placeholder of an Entra ID multi-tenant issuer: the directory (tenant) id, `tid`. */
export const ENTRA_TENANT_PLACEHOLDER = '{tenantid}';

/** The key set of every Entra ID directory (multi-tenant applications read their keys here). */
export const ENTRA_COMMON_JWKS_URI = 'https://login.microsoftonline.com/common/discovery/v2.0/keys';

/**
 * One trusted issuer: the settings of {@link OidcConfig} (the single-issuer env settings) plus
 * which tenants its tokens may speak for. At most one of `tenant`, `tenants`, `entraTenants`;
 * none only for the single-issuer shorthand (`OIDC_ISSUER`), which may speak for any tenant.
 */
export interface IssuerConfig extends OidcConfig {
  /** Exact `iss`; for Entra ID multi-tenant the template containing `{tenantid}`. */
  issuer: string;
  /** Every token of this issuer acts in this platform tenant (a token naming another is refused). */
  tenant?: string;
  /** The token's tenant claim must be one of these. */
  tenants?: string[];
  /**
   * With `tenants`: tokens naming no tenant are accepted, as principals outside any tenant (platform
   * operators, metrics scrapers), who may hold platform-wide role bindings. Default false: such a
   * token is refused, so that an issuer bound to tenants can never reach a platform role.
   */
  platformWide?: boolean;
  /**
   * Entra ID multi-tenant application: allow-listed directory ids (`tid`) mapped to the platform
   * tenant each acts in. The token's `iss` must be the template with its own `tid` filled in.
   */
  entraTenants?: Record<string, string>;
}

/** Fields an entry of the issuers file may have (file names; see docs/identity-providers.md). */
const FIELDS = [
  'issuer',
  'preset',
  'audiences',
  'clientIds',
  'algorithms',
  'clockToleranceSeconds',
  'maxTokenLifetimeSeconds',
  'jwksUri',
  'claimNamespace',
  'tenantClaim',
  'rolesClaim',
  'groupsClaim',
  'claimDelimiter',
  'requireAccessTokenType',
  'tenant',
  'tenants',
  'platformWide',
  'entraTenants',
];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Audiences that no access token for this API could sensibly carry: empty, or the issuer itself
 * (a token whose audience is its own issuer is meant for the provider, e.g. Okta's org server or
 * an ID token, never for this API). Used for the env shorthand and the file alike.
 *
 * @returns one problem text per such audience (none when all are fine)
 */
export function audienceProblems(audiences: string[], issuers: string[], label: string): string[] {
  const strip = (s: string) => s.replace(/\/+$/, '');
  const problems: string[] = [];
  for (const audience of audiences) {
    if (audience.trim() === '') problems.push(`${label}: an empty audience is never in a token`);
    else if (issuers.some((iss) => strip(iss) === strip(audience))) {
      problems.push(
        `${label}: "${audience.slice(0, 200)}" is the issuer itself, not this API: tokens with that audience are meant for the provider (use the API's own identifier)`,
      );
    }
  }
  return problems;
}

/**
 * Reads and validates the trusted-issuers file (YAML or JSON): `issuers: [{ issuer, ... }]`.
 * Settings not given take the value of the matching env setting (`defaults`, from
 * `parsePlatformConfig`). Problems are added to `problems`, each naming the file, the entry
 * (index and issuer) and the field; the returned list holds only valid entries.
 */
export function readIssuersFile(
  file: string,
  defaults: OidcConfig,
  env: 'development' | 'test' | 'production',
  problems: string[],
): IssuerConfig[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    problems.push(`OIDC_ISSUERS_FILE: cannot read ${file}`);
    return [];
  }
  return parseIssuersDocument(text, file, defaults, env, problems);
}

/** {@link readIssuersFile} on a document's text; `source` names it in problems. */
export function parseIssuersDocument(
  text: string,
  source: string,
  defaults: OidcConfig,
  env: 'development' | 'test' | 'production',
  problems: string[],
): IssuerConfig[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    problems.push(`${source}: not valid YAML (${(err as Error).message.split('\n')[0].slice(0, 200)})`);
    return [];
  }
  const list = (doc as { issuers?: unknown } | null)?.issuers;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(`${source}: must have a non-empty "issuers" list`);
    return [];
  }
  const result: IssuerConfig[] = [];
  const seen = new Map<string, string>();
  list.forEach((raw, index) => {
    const name =
      typeof (raw as { issuer?: unknown })?.issuer === 'string'
        ? ` (${String((raw as { issuer: string }).issuer).slice(0, 200)})`
        : '';
    const at = `${source}: issuers[${index}]${name}`;
    const before = problems.length;
    const entry = parseEntry(raw, at, defaults, env, problems);
    if (entry === undefined || problems.length > before) return;
    // Two entries for one `iss` would make the match ambiguous.
    for (const iss of concreteIssuers(entry)) {
      if (seen.has(iss)) problems.push(`${at}.issuer: "${iss}" is also declared by ${seen.get(iss)}`);
      seen.set(iss, `issuers[${index}]`);
    }
    result.push(entry);
  });
  problems.push(...sharedTenantProblems(result, source));
  return result;
}

/**
 * Each tenant, and the platform-wide scope, has one issuer: role bindings, deactivations and
 * service accounts are keyed by tenant and subject, and a subject (`sub`) is unique only within
 * its issuer, so two issuers speaking for one tenant would let one's subject hold the other's roles.
 */
function sharedTenantProblems(entries: IssuerConfig[], source: string): string[] {
  const problems: string[] = [];
  const owner = new Map<string, number>();
  let platformWide: number | undefined;
  entries.forEach((entry, index) => {
    const tenants = new Set([
      ...(entry.tenant ? [entry.tenant] : []),
      ...(entry.tenants ?? []),
      ...Object.values(entry.entraTenants ?? {}),
    ]);
    for (const tenant of tenants) {
      const first = owner.get(tenant);
      if (first === undefined) owner.set(tenant, index);
      else
        problems.push(
          `${source}: tenant "${tenant}" is named by ${entries[first].issuer} and ${entry.issuer}: a subject is unique only within its issuer, so each tenant has one issuer`,
        );
    }
    if (entry.platformWide) {
      if (platformWide === undefined) platformWide = index;
      else
        problems.push(
          `${source}: platformWide is set on ${entries[platformWide].issuer} and ${entry.issuer}: platform roles are bound to subjects, so one issuer may name principals outside any tenant`,
        );
    }
  });
  return problems;
}

/** Every exact `iss` an issuer entry accepts: its issuer, or one per allow-listed Entra directory. */
export function concreteIssuers(entry: Pick<IssuerConfig, 'issuer' | 'entraTenants'>): string[] {
  if (!entry.entraTenants) return [entry.issuer];
  return Object.keys(entry.entraTenants).map((tid) => entry.issuer.replace(ENTRA_TENANT_PLACEHOLDER, tid));
}

function parseEntry(
  raw: unknown,
  at: string,
  defaults: OidcConfig,
  env: string,
  problems: string[],
): IssuerConfig | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${at}: must be a map`);
    return undefined;
  }
  const e = raw as Record<string, unknown>;
  for (const key of Object.keys(e))
    if (!FIELDS.includes(key)) problems.push(`${at}.${key}: unknown field (known: ${FIELDS.join(', ')})`);
  const str = (key: string): string | undefined => {
    const value = e[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${at}.${key}: must be a non-empty string`);
      return undefined;
    }
    return value.trim();
  };
  const strings = (key: string): string[] | undefined => {
    const value = e[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === '')) {
      problems.push(`${at}.${key}: must be a list of non-empty strings`);
      return undefined;
    }
    return value.map((v: string) => v.trim());
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const value = e[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${at}.${key}: must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return value;
  };

  const issuer = str('issuer');
  if (issuer === undefined) {
    if (e.issuer === undefined) problems.push(`${at}.issuer: required`);
    return undefined;
  }
  if (!/^https?:\/\/[^\s]+$/.test(issuer)) problems.push(`${at}.issuer: must be an http(s) URL`);
  if (env === 'production' && !issuer.startsWith('https://'))
    problems.push(`${at}.issuer: must be https:// when NODE_ENV=production`);

  const entraTenantsRaw = e.entraTenants;
  const multiTenant = issuer.includes(ENTRA_TENANT_PLACEHOLDER);
  const preset = (str('preset') ?? (multiTenant ? 'entra' : 'generic')) as ClaimPresetName;
  if (!CLAIM_PRESETS.includes(preset)) problems.push(`${at}.preset: must be one of ${CLAIM_PRESETS.join(', ')}`);

  const algorithms = strings('algorithms') ?? [...DEFAULT_ALGORITHMS];
  if (algorithms.length === 0) problems.push(`${at}.algorithms: must name at least one algorithm`);
  for (const alg of algorithms)
    if (!ALLOWED_ALGORITHMS.includes(alg))
      problems.push(`${at}.algorithms: "${alg}" is not an asymmetric JWS algorithm (none and HS* are never accepted)`);

  const audiences = strings('audiences') ?? [];
  const clientIds = strings('clientIds') ?? [];
  if (audiences.length === 0 && preset !== 'cognito')
    problems.push(`${at}.audiences: required (the API identifiers its tokens carry in aud)`);
  if (preset === 'cognito' && clientIds.length === 0)
    problems.push(`${at}.clientIds: required with preset cognito (its access tokens carry no aud)`);

  const jwksUri = str('jwksUri') ?? (multiTenant ? ENTRA_COMMON_JWKS_URI : undefined);
  if (jwksUri !== undefined && !/^https?:\/\/[^\s]+$/.test(jwksUri))
    problems.push(`${at}.jwksUri: must be an http(s) URL`);
  if (env === 'production' && jwksUri?.startsWith('http://'))
    problems.push(`${at}.jwksUri: must be https:// when NODE_ENV=production`);

  const delimiterRaw = str('claimDelimiter');
  let claimDelimiter: ',' | ' ' | undefined;
  if (delimiterRaw === 'comma') claimDelimiter = ',';
  else if (delimiterRaw === 'space') claimDelimiter = ' ';
  else if (delimiterRaw !== undefined) problems.push(`${at}.claimDelimiter: must be comma or space`);

  const requireRaw = e.requireAccessTokenType;
  if (requireRaw !== undefined && typeof requireRaw !== 'boolean')
    problems.push(`${at}.requireAccessTokenType: must be true or false`);

  // Which tenants the issuer may speak for: exactly one way, so that no issuer speaks for all by omission.
  const tenant = str('tenant');
  const tenants = strings('tenants');
  let entraTenants: Record<string, string> | undefined;
  if (entraTenantsRaw !== undefined) entraTenants = parseEntraTenants(entraTenantsRaw, `${at}.entraTenants`, problems);
  const ways = [tenant, tenants, entraTenantsRaw].filter((v) => v !== undefined).length;
  if (ways === 0)
    problems.push(
      `${at}: name the tenants it may speak for: tenant (one fixed tenant), tenants (allow-list of the tenant claim) or entraTenants (Entra ID multi-tenant)`,
    );
  if (ways > 1) problems.push(`${at}: give only one of tenant, tenants, entraTenants`);
  if (tenants !== undefined && tenants.length === 0) problems.push(`${at}.tenants: must name at least one tenant`);
  const platformWide = e.platformWide;
  if (platformWide !== undefined && typeof platformWide !== 'boolean')
    problems.push(`${at}.platformWide: must be true or false`);
  if (platformWide !== undefined && tenants === undefined)
    problems.push(`${at}.platformWide: only with tenants (a fixed tenant or an Entra directory always names one)`);
  if (multiTenant !== (entraTenantsRaw !== undefined)) {
    problems.push(
      multiTenant
        ? `${at}.issuer: contains ${ENTRA_TENANT_PLACEHOLDER}, which only an Entra ID multi-tenant entry (entraTenants) may; the placeholder itself is never a trusted issuer`
        : `${at}.entraTenants: the issuer must be the tenant-specific template, e.g. https://login.microsoftonline.com/${ENTRA_TENANT_PLACEHOLDER}/v2.0`,
    );
  }
  if (multiTenant && preset !== 'entra')
    problems.push(`${at}.preset: an Entra ID multi-tenant entry uses the entra preset`);

  problems.push(
    ...audienceProblems(
      audiences,
      multiTenant && entraTenants ? concreteIssuers({ issuer, entraTenants }) : [issuer],
      `${at}.audiences`,
    ),
  );

  return {
    ...defaults,
    issuer,
    preset,
    audiences,
    clientIds,
    algorithms,
    clockToleranceSeconds: int('clockToleranceSeconds', defaults.clockToleranceSeconds, 0, 300),
    maxTokenLifetimeSeconds: int('maxTokenLifetimeSeconds', defaults.maxTokenLifetimeSeconds, 0, 366 * 24 * 3600),
    jwksUri,
    claimNamespace: str('claimNamespace') ?? '',
    tenantClaim: str('tenantClaim'),
    rolesClaim: str('rolesClaim'),
    groupsClaim: str('groupsClaim'),
    claimDelimiter,
    requireAccessTokenType: typeof requireRaw === 'boolean' ? requireRaw : false,
    ...(tenant !== undefined && { tenant }),
    ...(tenants !== undefined && { tenants }),
    ...(platformWide === true && { platformWide: true }),
    ...(entraTenants !== undefined && { entraTenants }),
  };
}

/** `entraTenants`: a map of directory id to platform tenant, or a list of directory ids (each its own tenant). */
function parseEntraTenants(raw: unknown, at: string, problems: string[]): Record<string, string> | undefined {
  const pairs: [string, unknown][] = Array.isArray(raw)
    ? raw.map((tid) => [String(tid), tid])
    : typeof raw === 'object' && raw !== null
      ? Object.entries(raw)
      : [];
  if (pairs.length === 0) {
    problems.push(`${at}: must map at least one directory id (tid) to a platform tenant`);
    return undefined;
  }
  const result: Record<string, string> = {};
  for (const [tid, tenant] of pairs) {
    if (!GUID.test(tid)) problems.push(`${at}: "${tid.slice(0, 100)}" is not a directory id (a GUID)`);
    else if (typeof tenant !== 'string' || tenant.trim() === '')
      problems.push(`${at}.${tid}: must name a platform tenant`);
    else result[tid.toLowerCase()] = tenant.trim();
  }
  return result;
}
