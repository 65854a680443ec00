import type { ClaimPresetName } from './platform-env.schema';

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
