import * as path from 'node:path';

import {
  CLAIM_PRESETS,
  DEFAULT_ALGORITHMS,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  type ClaimPresetName,
  type PlatformEnv,
} from './platform-env.schema';
import { readIssuersFile, type IssuerConfig } from './issuers-file';
import type { OidcConfig } from './oidc-config';
import { audiencesOf, ConfigError, envName, validatePlatformEnv } from './validate-platform-env';

export { CLAIM_PRESETS, DEFAULT_ALGORITHMS, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, ConfigError };
export type { ClaimPresetName, OidcConfig };

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
   * until the development provider starts). With the file, `oidc` is its first exact (not Entra multi-tenant) entry.
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
  /**
   * Most verified tokens remembered at once (`VERIFIED_TOKEN_CACHE_SIZE`, 100-10,000,000, default
   * 50,000; about 2.1 KB of heap each): a token remembered skips the signature check until it expires.
   */
  verifiedTokenCacheSize: number;
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

/**
 * Reads and validates the platform configuration from environment variables
 * (the table in README.md lists each one). Pure: pass `process.env` or a test's own record.
 *
 * @throws ConfigError listing every invalid variable by name (never by secret value).
 */
export function parsePlatformConfig(
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
): PlatformConfigValues {
  const validated = validatePlatformEnv(env);
  return withIssuersFile(toPlatformConfig(validated, cwd), validated, cwd);
}

/**
 * The configuration with the issuers of `OIDC_ISSUERS_FILE` read in, when it is set (`oidc` then
 * is the file's first exact entry); unchanged otherwise.
 *
 * @throws ConfigError naming the file, the entry and the field of every problem in the file
 */
export function withIssuersFile(
  config: PlatformConfigValues,
  validated: PlatformEnv,
  cwd = process.cwd(),
): PlatformConfigValues {
  if (validated.OIDC_ISSUERS_FILE === undefined) return config;
  const problems: string[] = [];
  const issuers = readIssuersFile(path.resolve(cwd, validated.OIDC_ISSUERS_FILE), config.oidc, config.env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  // `oidc` names the issuer for the console's and the API docs' sign-in: an exact one, not an Entra
  // multi-tenant template (whose `{tenantid}` no browser can sign in at), when the file has one.
  return { ...config, issuers, oidc: issuers.find((i) => !i.entraTenants) ?? issuers[0] ?? config.oidc };
}

/**
 * The typed configuration from a validated environment: defaults applied, files resolved
 * against `cwd`, origins normalized. Pure; the environment must come from validatePlatformEnv.
 */
export function toPlatformConfig(env: PlatformEnv, cwd = process.cwd()): PlatformConfigValues {
  const config = configOf(env, cwd);
  return config.oidc.issuer === undefined
    ? config
    : { ...config, issuers: [{ ...config.oidc, issuer: config.oidc.issuer }] };
}

function configOf(env: PlatformEnv, cwd: string): PlatformConfigValues {
  const file = (value: string | undefined, fallback: string) => path.resolve(cwd, value ?? fallback);
  const issuer = env.OIDC_ISSUER;
  return {
    env: envName(env),
    host: env.HOST ?? '0.0.0.0',
    port: env.PORT ?? 3000,
    databaseUrl: env.DATABASE_URL,
    dataDir: file(env.DATA_DIR, 'data'),
    policyFile: file(env.POLICY_FILE, 'config/policy.yaml'),
    enabledApps: env.ENABLED_APPS,
    logLevel: env.LOG_LEVEL ?? 'info',
    logFormat: env.LOG_FORMAT ?? 'auto',
    bodyLimitBytes: env.BODY_LIMIT_BYTES ?? 1024 * 1024,
    oidc: {
      issuer,
      audiences: audiencesOf(env),
      clientIds: env.OIDC_CLIENT_ID ?? [],
      preset: env.OIDC_PRESET ?? 'generic',
      algorithms: env.OIDC_ALGORITHMS ?? [...DEFAULT_ALGORITHMS],
      clockToleranceSeconds: env.OIDC_CLOCK_TOLERANCE_SECONDS ?? 30,
      maxTokenLifetimeSeconds: env.OIDC_MAX_TOKEN_LIFETIME_SECONDS ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
      jwksCacheSeconds: env.OIDC_JWKS_CACHE_SECONDS ?? 600,
      jwksRefetchIntervalSeconds: env.OIDC_JWKS_REFETCH_INTERVAL_SECONDS ?? 30,
      httpTimeoutMs: env.OIDC_HTTP_TIMEOUT_MS ?? 5000,
      jwksUri: env.OIDC_JWKS_URI,
      claimNamespace: env.OIDC_CLAIM_NAMESPACE ?? '',
      tenantClaim: env.OIDC_TENANT_CLAIM,
      rolesClaim: env.OIDC_ROLES_CLAIM,
      groupsClaim: env.OIDC_GROUPS_CLAIM,
      claimDelimiter:
        env.OIDC_CLAIM_DELIMITER === undefined ? undefined : env.OIDC_CLAIM_DELIMITER === 'comma' ? ',' : ' ',
      // The development provider types its access tokens at+jwt; external ones vary.
      requireAccessTokenType: env.OIDC_REQUIRE_AT_JWT ?? issuer === undefined,
    },
    consoleClientId: env.CONSOLE_CLIENT_ID ?? 'platform-console',
    devIdp: { port: env.DEV_OIDC_PORT ?? 3001 },
    secrets: {
      dir: env.SECRETS_DIR === undefined ? undefined : file(env.SECRETS_DIR, ''),
      pollIntervalMs: env.SECRETS_POLL_INTERVAL_MS ?? 500,
      graceSeconds: env.SECRETS_GRACE_SECONDS ?? 300,
    },
    serviceAccountsRequired: env.SERVICE_ACCOUNTS_REQUIRED ?? true,
    bootstrap: {
      inline: env.PLATFORM_BOOTSTRAP,
      file: file(env.BOOTSTRAP_FILE, 'config/bootstrap.yaml'),
      fileRequired: env.BOOTSTRAP_FILE !== undefined,
    },
    delegationMaxDepth: env.DELEGATION_MAX_DEPTH ?? 1,
    dpop: {
      proofMaxAgeSeconds: env.DPOP_PROOF_MAX_AGE_SECONDS ?? 60,
      requiredForMachinesApps: env.DPOP_REQUIRED_FOR_MACHINES ?? [],
      publicOrigin: env.PUBLIC_ORIGIN === undefined ? undefined : new URL(env.PUBLIC_ORIGIN).origin,
    },
    trustProxy: trustProxyOf(env.TRUST_PROXY),
    corsAllowedOrigins: (env.CORS_ALLOWED_ORIGINS ?? []).map((origin) => new URL(origin).origin),
    redis:
      env.REDIS_URL === undefined
        ? undefined
        : {
            url: env.REDIS_URL,
            keyPrefix: env.REDIS_KEY_PREFIX ?? 'platform:',
            commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS ?? 250,
          },
    rateLimitsFile: file(env.RATE_LIMITS_FILE, 'config/rate-limits.yaml'),
    rateLimitInstances: env.RATE_LIMIT_INSTANCES ?? 1,
    verifiedTokenCacheSize: env.VERIFIED_TOKEN_CACHE_SIZE ?? 50_000,
    audit: {
      batchSize: env.AUDIT_BATCH_SIZE ?? 500,
      flushIntervalMs: env.AUDIT_FLUSH_INTERVAL_MS ?? 200,
      queueLimit: env.AUDIT_QUEUE_LIMIT ?? 100_000,
      writeTimeoutMs: env.AUDIT_WRITE_TIMEOUT_MS ?? 5000,
      replayIntervalMs: env.AUDIT_REPLAY_INTERVAL_MS ?? 1000,
      journalDir: file(env.AUDIT_JOURNAL_DIR, path.join(env.DATA_DIR ?? 'data', 'audit-journal')),
      durability: env.AUDIT_DURABILITY ?? 'journal',
    },
    idempotencyLeaseMs: env.IDEMPOTENCY_LEASE_MS ?? 30_000,
    // The issuers file, when set, is read by parsePlatformConfig (a file read; this stays pure).
    issuers: [],
  };
}

/** `TRUST_PROXY`: `false`/unset, a hop count, or a comma list of proxy addresses/CIDRs. */
function trustProxyOf(raw: string | undefined): false | number | string[] {
  if (raw === undefined || raw === 'false') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
