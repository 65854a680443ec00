import * as path from 'node:path';
import { audienceProblems, readIssuersFile, type IssuerConfig } from './issuers-file';

/** Claim-mapping presets, one per identity-provider family (see docs/identity-providers.md). */
export const CLAIM_PRESETS = ['generic', 'keycloak', 'auth0', 'okta', 'entra', 'cognito'] as const;
export type ClaimPresetName = (typeof CLAIM_PRESETS)[number];

/** Asymmetric JWS algorithms accepted by default (RFC 8725 section 3.1: pin the list). */
export const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
const ALLOWED_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);

/** Longest access-token lifetime accepted by default, in seconds (24 h; OWASP ASVS 5.0 V9.2.1, RFC 9068 section 4). */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

/** Settings of the access-token issuer the platform trusts. */
export interface OidcConfig {
  /** Issuer identifier, compared exactly with `iss`. Undefined means "start the development provider". */
  issuer?: string;
  /** Accepted `aud` values; a token is accepted when any of its audiences is in this list. */
  audiences: string[];
  /** Accepted client ids: used by presets whose tokens have no `aud` (Cognito) and to pick Keycloak client roles. */
  clientIds: string[];
  preset: ClaimPresetName;
  /** JWS `alg` allow-list. Never contains `none` or HS*. */
  algorithms: string[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. */
  clockToleranceSeconds: number;
  /**
   * Longest token lifetime accepted, in seconds: `exp - iat` (or `exp - now` without `iat`) and
   * `exp - now` above it are refused (`lifetime_exceeded`). Default 24 h; 0 disables the check.
   */
  maxTokenLifetimeSeconds: number;
  /** How long a fetched JWKS is trusted before it is fetched again, in seconds. */
  jwksCacheSeconds: number;
  /** Minimum time between two JWKS fetches caused by an unknown `kid`, in seconds. */
  jwksRefetchIntervalSeconds: number;
  /** Timeout of one discovery or JWKS HTTP request, in milliseconds. */
  httpTimeoutMs: number;
  /** JWKS URL; undefined means "read `jwks_uri` from the issuer's discovery document". */
  jwksUri?: string;
  /** Prefix of namespaced custom claims (Auth0), e.g. `https://platform.example/`. */
  claimNamespace: string;
  /** Overrides the preset's tenant claim name. */
  tenantClaim?: string;
  /** Overrides the preset's roles claim: a claim name, or a dotted path (`realm_access.roles`) when no claim has that name. */
  rolesClaim?: string;
  /** Claim (name or dotted path) of the person's groups, added to the roles for `roleMappings`. */
  groupsClaim?: string;
  /** Delimiter of multi-valued claims sent as one joined string (`,` or ` `); unset: a string is one value. */
  claimDelimiter?: ',' | ' ';
  /**
   * Only tokens typed `at+jwt` (RFC 9068 section 2.1) are access tokens: set where the provider
   * types its access tokens (the development provider, glewlwyd, Okta...), so a `JWT`-typed ID
   * token can never pass. Default: true for the development provider, false for an external one.
   */
  requireAccessTokenType: boolean;
}

/** Settings of the built-in development OpenID provider. */
export interface DevIdpConfig {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
}

/** The whole validated configuration of one platform process. */
export interface PlatformConfigValues {
  env: 'development' | 'test' | 'production';
  host: string;
  /** HTTP port of the platform API; 0 picks a free one. */
  port: number;
  /** PostgreSQL connection string; undefined selects the embedded PGlite database under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  policyFile: string;
  /** Feature apps to serve, by name; undefined serves every app. */
  enabledApps?: string[];
  logLevel: string;
  /** `json` (one JSON object per line), `pretty` (development only), or `auto`: pretty on a development terminal, else JSON. */
  logFormat: 'json' | 'pretty' | 'auto';
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  oidc: OidcConfig;
  /**
   * Every trusted issuer: the entries of `OIDC_ISSUERS_FILE`, or the one `OIDC_ISSUER` (empty
   * until the development provider starts). With the file, `oidc` is its first entry.
   */
  issuers: IssuerConfig[];
  /**
   * OAuth client id of the operator console at `/console` (a public client: authorization code
   * + PKCE, no secret), registered at the identity provider with the redirect URI
   * `<origin>/console`. Default `platform-console`, the development provider's.
   */
  consoleClientId: string;
  devIdp: DevIdpConfig;
  /** How secrets are found and rotated (the values themselves are never in the configuration). */
  secrets: {
    /** Folder holding one file per secret (Kubernetes / Docker secret mounts); undefined: none. */
    dir?: string;
    /** How often secret sources are read again, in milliseconds. */
    pollIntervalMs: number;
    /** How long a rotated secret's previous value stays accepted where both must overlap, in seconds. */
    graceSeconds: number;
  };
  /**
   * True (default): a machine principal of a tenant must be a registered service account, or it
   * is denied (`service_account_not_registered`). False: unregistered machines get their token's
   * scopes (for trying the platform against an identity provider before registering clients).
   */
  serviceAccountsRequired: boolean;
  /**
   * Role bindings applied at start without SQL: `inline` from `PLATFORM_BOOTSTRAP` (YAML or JSON),
   * else the file `BOOTSTRAP_FILE` (default `config/bootstrap.yaml`; optional unless set explicitly).
   */
  bootstrap: { inline?: string; file: string; fileRequired: boolean };
  /** Delegation (RFC 8693 `act`): how many actors a chain may have; 0 refuses every delegated token. */
  delegationMaxDepth: number;
  /** Sender-constrained tokens (RFC 9449 DPoP). */
  dpop: {
    /** How old a proof's `iat` may be, in seconds (also how long its `jti` is remembered). */
    proofMaxAgeSeconds: number;
    /** Feature apps whose routes refuse machine principals (and agents) without a DPoP-bound token. */
    requiredForMachinesApps: string[];
    /**
     * Public origin of the API (`https://api.example.com`) that proofs' `htu` must name; undefined:
     * the request's own scheme and host (behind a proxy, only with `TRUST_PROXY`).
     */
    publicOrigin?: string;
  };
  /**
   * Fastify's `trustProxy`: which proxies' `X-Forwarded-For`/`-Proto`/`-Host` are believed.
   * `false` (default): none, the client address is the TCP peer. Otherwise a hop count, or a list
   * of addresses/CIDRs of the proxies in front.
   */
  trustProxy: false | number | string[];
  /**
   * Browser origins (`https://app.example.com`) allowed to call the API across origins (CORS):
   * their preflights are answered and their responses carry `Access-Control-Allow-Origin`; every
   * other origin's preflight is 403. Empty (default): none.
   */
  corsAllowedOrigins: string[];
  /** Shared state between instances (rate-limit counters, DPoP proof ids); undefined: in memory. */
  redis?: {
    /** `redis://` or `rediss://` URL; a password in it is used unless the `redis-password` secret is set. */
    url: string;
    /** Prefix of every key the platform writes. */
    keyPrefix: string;
    /** A command not answered within this many milliseconds counts as failed (the fallback applies). */
    commandTimeoutMs: number;
  };
  /** YAML file of rate-limit budgets (per app and principal type); see config/rate-limits.yaml. */
  rateLimitsFile: string;
  /**
   * How many platform instances share the budgets (`RATE_LIMIT_INSTANCES`, default 1). While an
   * instance counts alone (no Redis, or Redis unreachable) it enforces budget ÷ this number, so
   * that all instances together stay near the budget.
   */
  rateLimitInstances: number;
  audit: {
    /** Largest number of records written in one INSERT. */
    batchSize: number;
    /** Longest time a record waits in memory before it is written, in milliseconds. */
    flushIntervalMs: number;
    /** Records held in memory at most; beyond it (database and journal both failing) the oldest are dropped, loudly. */
    queueLimit: number;
    /** A batch write taking longer than this (milliseconds) counts as failed: its records go to the journal. */
    writeTimeoutMs: number;
    /** While the database is unreachable, how often the journal replay is tried, in milliseconds. */
    replayIntervalMs: number;
    /** Folder of the local journal (`audit-journal.ndjson`); one process per folder. */
    journalDir: string;
    /**
     * `journal` (default): a response is sent once its access record is fsynced in the local
     * write-ahead log (group commit); the database gets it in batches. `before-response`: once it is
     * committed to the database (or fsynced in the journal during an outage). `async`: records are
     * written after the response (a crash loses up to `flushIntervalMs` of them).
     */
    durability: 'journal' | 'before-response' | 'async';
  };
  /**
   * How long an `Idempotency-Key` claim holds, in milliseconds: a retry after it (the process
   * running the request crashed) runs the request again. About the longest a request may take.
   */
  idempotencyLeaseMs: number;
}

/** Thrown by {@link parsePlatformConfig} with every problem found, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n - ${problems.join('\n - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the platform configuration from environment variables
 * (the table in README.md lists each one). Pure: pass `process.env` or a test's own record.
 *
 * @throws ConfigError listing every invalid variable by name (never by secret value).
 */
export function parsePlatformConfig(env: Env, cwd = process.cwd()): PlatformConfigValues {
  const problems: string[] = [];
  const str = (name: string) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const int = (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean) => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    problems.push(`${name} must be true or false`);
    return fallback;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    problems.push(`${name} must be one of ${allowed.join(', ')}`);
    return fallback;
  };
  const list = (name: string, fallback: string[]) => {
    const raw = str(name);
    return raw === undefined ? fallback : raw.split(',').map((s) => s.trim()).filter(Boolean);
  };

  const nodeEnv = str('NODE_ENV') ?? 'development';
  // A typo ("prod") must not silently mean development, which starts the development provider.
  if (!['development', 'test', 'production'].includes(nodeEnv)) problems.push('NODE_ENV must be development, test or production');
  const envName = nodeEnv === 'production' || nodeEnv === 'test' ? nodeEnv : 'development';

  const issuer = str('OIDC_ISSUER');
  const issuersFile = str('OIDC_ISSUERS_FILE');
  if (issuersFile !== undefined && issuer !== undefined) problems.push('OIDC_ISSUERS_FILE and OIDC_ISSUER are exclusive: declare every issuer in the file, or the one issuer in OIDC_ISSUER');
  if (issuer !== undefined && !/^https?:\/\/[^\s]+$/.test(issuer)) problems.push('OIDC_ISSUER must be an http(s) URL');
  // In production the keys that decide every request must come over TLS.
  if (envName === 'production' && issuer !== undefined && !issuer.startsWith('https://')) problems.push('OIDC_ISSUER must be https:// when NODE_ENV=production');
  if (envName === 'production' && str('OIDC_JWKS_URI')?.startsWith('http://')) problems.push('OIDC_JWKS_URI must be https:// when NODE_ENV=production');
  if (issuer === undefined && issuersFile === undefined && envName === 'production') {
    problems.push('OIDC_ISSUER is required when NODE_ENV=production (the development provider never runs in production)');
  }
  const preset = (str('OIDC_PRESET') ?? 'generic') as ClaimPresetName;
  if (!CLAIM_PRESETS.includes(preset)) problems.push(`OIDC_PRESET must be one of ${CLAIM_PRESETS.join(', ')}`);

  const algorithms = list('OIDC_ALGORITHMS', [...DEFAULT_ALGORITHMS]);
  if (algorithms.length === 0) problems.push('OIDC_ALGORITHMS must name at least one algorithm');
  for (const alg of algorithms) {
    if (!ALLOWED_ALGORITHMS.has(alg)) {
      problems.push(`OIDC_ALGORITHMS: "${alg}" is not an asymmetric JWS algorithm (none and HS* are never accepted)`);
    }
  }
  const audiences = list('OIDC_AUDIENCE', issuer === undefined ? ['urn:platform:api'] : []);
  const clientIds = list('OIDC_CLIENT_ID', []);
  if (audiences.length === 0 && preset !== 'cognito') problems.push('OIDC_AUDIENCE is required with an external OIDC_ISSUER');
  if (issuer !== undefined) problems.push(...audienceProblems(audiences, [issuer], 'OIDC_AUDIENCE'));
  if (preset === 'cognito' && clientIds.length === 0) problems.push('OIDC_CLIENT_ID is required with OIDC_PRESET=cognito (its access tokens carry no aud)');

  const logFormat = str('LOG_FORMAT');
  if (logFormat !== undefined && !['json', 'pretty', 'auto'].includes(logFormat)) problems.push('LOG_FORMAT must be json, pretty or auto');
  // Log pipelines parse JSON; pretty lines in production would be lost to them.
  if (logFormat === 'pretty' && envName !== 'development') problems.push('LOG_FORMAT=pretty is for development only (NODE_ENV=development)');

  const redisUrl = str('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  const trustProxyRaw = str('TRUST_PROXY') ?? 'false';
  let trustProxy: false | number | string[] = false;
  if (/^\d+$/.test(trustProxyRaw)) trustProxy = Number(trustProxyRaw);
  else if (trustProxyRaw === 'true') problems.push('TRUST_PROXY=true would believe any client\'s X-Forwarded-For: give the hop count or the proxies\' addresses/CIDRs');
  else if (trustProxyRaw !== 'false') trustProxy = list('TRUST_PROXY', []);
  let publicOrigin = str('PUBLIC_ORIGIN');
  if (publicOrigin !== undefined) {
    try {
      if (!/^https?:\/\/[^/\s]+$/i.test(publicOrigin)) throw new Error('not an origin');
      publicOrigin = new URL(publicOrigin).origin;
    } catch {
      problems.push('PUBLIC_ORIGIN must be an origin like https://api.example.com (no path)');
      publicOrigin = undefined;
    }
  } else if (envName === 'production') {
    // DPoP proofs name the URL they are for (htu): checked against the Host header instead, a
    // client could make a proof meant for another server that accepts the same token pass here.
    problems.push('PUBLIC_ORIGIN is required when NODE_ENV=production (the https:// origin clients address, e.g. https://api.example.com)');
  }

  const corsAllowedOrigins: string[] = [];
  for (const origin of list('CORS_ALLOWED_ORIGINS', [])) {
    // Exact origins only: `*` or a pattern would let any site read responses with a user's token.
    if (!/^https?:\/\/[^/\s*]+$/i.test(origin)) {
      problems.push(`CORS_ALLOWED_ORIGINS: "${origin.slice(0, 100)}" is not an origin like https://app.example.com (no path, no wildcard)`);
      continue;
    }
    try {
      corsAllowedOrigins.push(new URL(origin).origin);
    } catch {
      problems.push(`CORS_ALLOWED_ORIGINS: "${origin.slice(0, 100)}" is not an origin like https://app.example.com (no path, no wildcard)`);
    }
  }

  const databaseUrl = str('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL must be a postgres:// URL');

  const config: PlatformConfigValues = {
    env: envName,
    host: str('HOST') ?? '0.0.0.0',
    port: int('PORT', 3000, 0, 65535),
    databaseUrl,
    dataDir: path.resolve(cwd, str('DATA_DIR') ?? 'data'),
    policyFile: path.resolve(cwd, str('POLICY_FILE') ?? 'config/policy.yaml'),
    enabledApps: str('ENABLED_APPS') === undefined ? undefined : list('ENABLED_APPS', []),
    logLevel: str('LOG_LEVEL') ?? 'info',
    logFormat: (str('LOG_FORMAT') ?? 'auto') as PlatformConfigValues['logFormat'],
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 1024 * 1024, 1024),
    oidc: {
      issuer,
      audiences,
      clientIds,
      preset,
      algorithms,
      clockToleranceSeconds: int('OIDC_CLOCK_TOLERANCE_SECONDS', 30, 0, 300),
      maxTokenLifetimeSeconds: int('OIDC_MAX_TOKEN_LIFETIME_SECONDS', DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, 0, 366 * 24 * 3600),
      jwksCacheSeconds: int('OIDC_JWKS_CACHE_SECONDS', 600, 0),
      jwksRefetchIntervalSeconds: int('OIDC_JWKS_REFETCH_INTERVAL_SECONDS', 30, 0),
      httpTimeoutMs: int('OIDC_HTTP_TIMEOUT_MS', 5000, 100),
      jwksUri: str('OIDC_JWKS_URI'),
      claimNamespace: str('OIDC_CLAIM_NAMESPACE') ?? '',
      tenantClaim: str('OIDC_TENANT_CLAIM'),
      rolesClaim: str('OIDC_ROLES_CLAIM'),
      groupsClaim: str('OIDC_GROUPS_CLAIM'),
      claimDelimiter: claimDelimiter(str('OIDC_CLAIM_DELIMITER'), problems),
      requireAccessTokenType: bool('OIDC_REQUIRE_AT_JWT', issuer === undefined),
    },
    consoleClientId: str('CONSOLE_CLIENT_ID') ?? 'platform-console',
    devIdp: { port: int('DEV_OIDC_PORT', 3001, 0, 65535) },
    secrets: {
      dir: str('SECRETS_DIR') === undefined ? undefined : path.resolve(cwd, str('SECRETS_DIR') as string),
      pollIntervalMs: int('SECRETS_POLL_INTERVAL_MS', 500, 50, 60_000),
      graceSeconds: int('SECRETS_GRACE_SECONDS', 300, 0, 7 * 24 * 3600),
    },
    serviceAccountsRequired: bool('SERVICE_ACCOUNTS_REQUIRED', true),
    bootstrap: {
      inline: str('PLATFORM_BOOTSTRAP'),
      file: path.resolve(cwd, str('BOOTSTRAP_FILE') ?? 'config/bootstrap.yaml'),
      fileRequired: str('BOOTSTRAP_FILE') !== undefined,
    },
    delegationMaxDepth: int('DELEGATION_MAX_DEPTH', 1, 0, 10),
    dpop: {
      proofMaxAgeSeconds: int('DPOP_PROOF_MAX_AGE_SECONDS', 60, 5, 600),
      requiredForMachinesApps: list('DPOP_REQUIRED_FOR_MACHINES', []),
      publicOrigin,
    },
    trustProxy,
    corsAllowedOrigins,
    redis:
      redisUrl === undefined
        ? undefined
        : { url: redisUrl, keyPrefix: str('REDIS_KEY_PREFIX') ?? 'platform:', commandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 250, 10, 10_000) },
    rateLimitsFile: path.resolve(cwd, str('RATE_LIMITS_FILE') ?? 'config/rate-limits.yaml'),
    rateLimitInstances: int('RATE_LIMIT_INSTANCES', 1, 1, 1000),
    audit: {
      batchSize: int('AUDIT_BATCH_SIZE', 500, 1, 10000),
      flushIntervalMs: int('AUDIT_FLUSH_INTERVAL_MS', 200, 1, 60000),
      queueLimit: int('AUDIT_QUEUE_LIMIT', 100_000, 1000),
      writeTimeoutMs: int('AUDIT_WRITE_TIMEOUT_MS', 5000, 100, 120_000),
      replayIntervalMs: int('AUDIT_REPLAY_INTERVAL_MS', 1000, 50, 600_000),
      journalDir: path.resolve(cwd, str('AUDIT_JOURNAL_DIR') ?? path.join(str('DATA_DIR') ?? 'data', 'audit-journal')),
      durability: oneOf('AUDIT_DURABILITY', ['journal', 'before-response', 'async'] as const, 'journal'),
    },
    idempotencyLeaseMs: int('IDEMPOTENCY_LEASE_MS', 30_000, 1000, 24 * 3600 * 1000),
    issuers: [],
  };
  if (issuersFile !== undefined) {
    config.issuers = readIssuersFile(path.resolve(cwd, issuersFile), config.oidc, envName, problems);
    if (config.issuers.length > 0) config.oidc = config.issuers[0];
  } else if (issuer !== undefined) {
    config.issuers = [{ ...config.oidc, issuer }];
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** `OIDC_CLAIM_DELIMITER`: `comma` or `space` (names, since an environment value of one space is easily lost). */
function claimDelimiter(raw: string | undefined, problems: string[]): ',' | ' ' | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'comma') return ',';
  if (raw === 'space') return ' ';
  problems.push('OIDC_CLAIM_DELIMITER must be comma or space');
  return undefined;
}
