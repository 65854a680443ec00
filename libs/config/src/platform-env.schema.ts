import { IsOptional, IsString, IsUrl, ArrayNotEmpty } from 'class-validator';
import { EachEntry, EnvBool, EnvInt, EnvList, EnvMatches, EnvOneOf, isOrigin } from './env-decorators';

/** Claim-mapping presets, one per identity-provider family (see docs/identity-providers.md). */
export const CLAIM_PRESETS = ['generic', 'keycloak', 'auth0', 'okta', 'entra', 'cognito'] as const;
export type ClaimPresetName = (typeof CLAIM_PRESETS)[number];

/** Asymmetric JWS algorithms accepted by default (RFC 8725 section 3.1: pin the list). */
export const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
/** Every JWS algorithm OIDC_ALGORITHMS may name: asymmetric only, so never `none` or HS*. */
export const ALLOWED_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** Longest access-token lifetime accepted by default, in seconds (24 h; OWASP ASVS 5.0 V9.2.1, RFC 9068 section 4). */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

const HTTP_URL = { protocols: ['http', 'https'], require_protocol: true, require_tld: false, allow_underscores: true };
const url = (property: string) => ({ message: `${property} must be an http(s) URL` });

/**
 * The raw environment of a platform process, typed and validated field by field (one property
 * per variable, named as the variable; README.md lists them with their defaults). Defaults and
 * rules across variables are not here: see toPlatformConfig and crossFieldProblems.
 * Validated by validatePlatformEnv, the `validate` function of ConfigModule.forRoot.
 */
export class PlatformEnv {
  // A typo ("prod") must not silently mean development, which starts the development provider.
  @EnvOneOf(['development', 'test', 'production'], 'development, test or production') NODE_ENV?:
    'development' | 'test' | 'production';
  @IsOptional() @IsString() HOST?: string;
  @EnvInt(0, 65535) PORT?: number;
  @EnvMatches(/^postgres(ql)?:\/\//, 'a postgres:// URL') DATABASE_URL?: string;
  @IsOptional() @IsString() DATA_DIR?: string;
  @IsOptional() @IsString() POLICY_FILE?: string;
  @EnvList() ENABLED_APPS?: string[];
  @IsOptional() @IsString() LOG_LEVEL?: string;
  @EnvOneOf(['json', 'pretty', 'auto'], 'json, pretty or auto') LOG_FORMAT?: 'json' | 'pretty' | 'auto';
  @EnvInt(1024) BODY_LIMIT_BYTES?: number;

  @IsOptional() @IsUrl(HTTP_URL, url('OIDC_ISSUER')) OIDC_ISSUER?: string;
  /** Path of the trusted-issuers file (YAML or JSON; libs/config/src/issuers-file.ts), exclusive with OIDC_ISSUER. */
  @IsOptional() @IsString() OIDC_ISSUERS_FILE?: string;
  @EnvList() OIDC_AUDIENCE?: string[];
  @EnvList() OIDC_CLIENT_ID?: string[];
  @EnvOneOf(CLAIM_PRESETS) OIDC_PRESET?: ClaimPresetName;
  @EnvList()
  @ArrayNotEmpty({ message: 'OIDC_ALGORITHMS must name at least one algorithm' })
  @EachEntry(
    (alg) => ALLOWED_ALGORITHMS.includes(alg),
    (name, alg) => `${name}: "${alg}" is not an asymmetric JWS algorithm (none and HS* are never accepted)`,
  )
  OIDC_ALGORITHMS?: string[];
  @EnvInt(0, 300) OIDC_CLOCK_TOLERANCE_SECONDS?: number;
  @EnvInt(0, 366 * 24 * 3600) OIDC_MAX_TOKEN_LIFETIME_SECONDS?: number;
  @EnvInt(0) OIDC_JWKS_CACHE_SECONDS?: number;
  @EnvInt(0) OIDC_JWKS_REFETCH_INTERVAL_SECONDS?: number;
  @EnvInt(100) OIDC_HTTP_TIMEOUT_MS?: number;
  @IsOptional() @IsUrl(HTTP_URL, url('OIDC_JWKS_URI')) OIDC_JWKS_URI?: string;
  @IsOptional() @IsString() OIDC_CLAIM_NAMESPACE?: string;
  @IsOptional() @IsString() OIDC_TENANT_CLAIM?: string;
  @IsOptional() @IsString() OIDC_ROLES_CLAIM?: string;
  @IsOptional() @IsString() OIDC_GROUPS_CLAIM?: string;
  // Names, since an environment value of one space is easily lost.
  @EnvOneOf(['comma', 'space'], 'comma or space') OIDC_CLAIM_DELIMITER?: 'comma' | 'space';
  @EnvBool() OIDC_REQUIRE_AT_JWT?: boolean;

  @IsOptional() @IsString() CONSOLE_CLIENT_ID?: string;
  @EnvInt(0, 65535) DEV_OIDC_PORT?: number;
  @IsOptional() @IsString() SECRETS_DIR?: string;
  @EnvInt(50, 60_000) SECRETS_POLL_INTERVAL_MS?: number;
  @EnvInt(0, 7 * 24 * 3600) SECRETS_GRACE_SECONDS?: number;
  @EnvBool() SERVICE_ACCOUNTS_REQUIRED?: boolean;
  @IsOptional() @IsString() PLATFORM_BOOTSTRAP?: string;
  @IsOptional() @IsString() BOOTSTRAP_FILE?: string;
  @EnvInt(0, 10) DELEGATION_MAX_DEPTH?: number;
  @EnvInt(5, 600) DPOP_PROOF_MAX_AGE_SECONDS?: number;
  @EnvList() DPOP_REQUIRED_FOR_MACHINES?: string[];
  @EnvMatches(isOrigin, 'an origin like https://api.example.com (no path)') PUBLIC_ORIGIN?: string;
  // `true` would believe any client's X-Forwarded-For.
  @EnvMatches(
    /^(?!true$)/,
    "a hop count or the proxies' addresses/CIDRs (TRUST_PROXY=true would believe any client's X-Forwarded-For)",
  )
  TRUST_PROXY?: string;
  // Exact origins only: `*` or a pattern would let any site read responses with a user's token.
  @EnvList()
  @EachEntry(
    isOrigin,
    (name, origin) => `${name}: "${origin}" is not an origin like https://app.example.com (no path, no wildcard)`,
  )
  CORS_ALLOWED_ORIGINS?: string[];

  @EnvMatches(/^rediss?:\/\/[^\s]+$/, 'a redis:// or rediss:// URL') REDIS_URL?: string;
  @IsOptional() @IsString() REDIS_KEY_PREFIX?: string;
  @EnvInt(10, 10_000) REDIS_COMMAND_TIMEOUT_MS?: number;
  @IsOptional() @IsString() RATE_LIMITS_FILE?: string;
  @EnvInt(1, 1000) RATE_LIMIT_INSTANCES?: number;
  @EnvInt(100, 10_000_000) VERIFIED_TOKEN_CACHE_SIZE?: number;

  @EnvInt(1, 10_000) AUDIT_BATCH_SIZE?: number;
  @EnvInt(1, 60_000) AUDIT_FLUSH_INTERVAL_MS?: number;
  @EnvInt(1000) AUDIT_QUEUE_LIMIT?: number;
  @EnvInt(100, 120_000) AUDIT_WRITE_TIMEOUT_MS?: number;
  @EnvInt(50, 600_000) AUDIT_REPLAY_INTERVAL_MS?: number;
  @IsOptional() @IsString() AUDIT_JOURNAL_DIR?: string;
  @EnvOneOf(['journal', 'before-response', 'async']) AUDIT_DURABILITY?: 'journal' | 'before-response' | 'async';
  @EnvInt(1000, 24 * 3600 * 1000) IDEMPOTENCY_LEASE_MS?: number;
}
