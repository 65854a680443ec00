import type { ClaimPresetName } from '@platform/config';
import { findInputFlaw } from '@platform/http';
import { AuthFailure } from './auth-failure';
import { claimValues, groupsOverage, readClaimPath, type ClaimDelimiter } from './claim-values';
import type { Actor, Principal } from './principal';

/** How one identity-provider family names things in its access tokens. */
export interface ClaimPreset {
  /** Claim holding the tenant id (dotted paths are not interpreted: claim names may contain dots). */
  tenantClaims: string[];
  /** Reads the provider's roles or groups. `apiClientIds` are this API's own client ids. */
  roles(claims: Record<string, unknown>, apiClientIds: string[]): string[];
  /** True for a machine (client-credentials) token. */
  isService(claims: Record<string, unknown>, clientId: string | null): boolean;
}

/** Options of a {@link ClaimMapper}; `issuer`-independent. */
export interface ClaimMapperOptions {
  preset: ClaimPresetName;
  /** This API's audiences and client ids: Keycloak client roles are read only under these names. */
  apiClientIds: string[];
  /** Accepted `client_id` values for presets whose tokens have no `aud` (Cognito). */
  acceptedClientIds: string[];
  /** Prefix of Auth0 custom claims (e.g. `https://platform.example/`). */
  claimNamespace: string;
  /** Overrides the preset's tenant claim. */
  tenantClaim?: string;
  /** Overrides the preset's roles claim: a claim name or a dotted path (`realm_access.roles`). */
  rolesClaim?: string;
  /** Claim (name or dotted path) of the person's groups; they join the roles, for `roleMappings`. */
  groupsClaim?: string;
  /** Splits a multi-valued claim sent as one joined string; unset: a string is one value. */
  claimDelimiter?: ClaimDelimiter;
}

const CLIENT_ID_CLAIMS = ['client_id', 'azp', 'cid', 'appid'];

/** Keycloak's `typ` claim of tokens that are not access tokens. */
const NON_ACCESS_TYP = new Set(['ID', 'Refresh', 'Logout', 'Offline']);

/**
 * A multi-valued claim: a string array, or one string that is one value (or, with `delimiter`,
 * the values it joins); duplicates dropped, order kept. See {@link claimValues}.
 * @throws AuthFailure `malformed_claims` naming the claim
 */
export function stringList(value: unknown, claim: string, delimiter?: ClaimDelimiter): string[] {
  return claimValues(value, claim, delimiter);
}

/**
 * Scopes from `scope` (RFC 9068 / RFC 8693: one space-delimited string; an array is tolerated)
 * or, when `scope` is absent, from `scp` (Okta array, Entra space-delimited string).
 * Documented precedence: `scope` wins when both are present. Only spaces separate scopes
 * (RFC 6749 section 3.3); commas do not.
 */
export function readScopes(claims: Record<string, unknown>): string[] {
  const claim = claims.scope !== undefined ? 'scope' : 'scp';
  const value = claims[claim];
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [...new Set(value.split(' ').filter(Boolean))];
  return stringList(value, claim);
}

/** Nested `act` claims read at most this deep; a deeper chain is refused as malformed, whatever the configured limit. */
const MAX_ACT_NESTING = 16;

/**
 * The delegation chain of an RFC 8693 section 4.1 `act` claim, current actor first: each level is
 * an object with a string `sub` (and optionally `client_id`), the prior actor nested as its `act`.
 *
 * @throws AuthFailure `malformed_claims` for any other shape, or nesting beyond 16 levels
 */
export function readActors(value: unknown): Actor[] {
  const actors: Actor[] = [];
  let level = value;
  while (level !== undefined && level !== null) {
    if (typeof level !== 'object' || Array.isArray(level) || actors.length >= MAX_ACT_NESTING)
      throw new AuthFailure('malformed_claims', { claim: 'act' });
    const act = level as { sub?: unknown; client_id?: unknown; act?: unknown };
    if (typeof act.sub !== 'string' || act.sub === '') throw new AuthFailure('malformed_claims', { claim: 'act.sub' });
    if (act.client_id !== undefined && typeof act.client_id !== 'string')
      throw new AuthFailure('malformed_claims', { claim: 'act.client_id' });
    actors.push({ subject: act.sub, clientId: act.client_id ?? null });
    level = act.act;
  }
  return actors;
}

/**
 * RFC 7800 / RFC 9449 section 6.1: the `cnf.jkt` thumbprint of a DPoP-bound token, else null.
 * A `cnf` of another kind only (`x5t#S256`, mutual TLS) is not supported and refused, so that a
 * sender-constrained token is never accepted as a plain bearer token.
 *
 * @throws AuthFailure `malformed_claims` (wrong shape), `unsupported_token_binding`
 */
export function readBoundKeyThumbprint(cnf: unknown): string | null {
  if (cnf === undefined || cnf === null) return null;
  if (typeof cnf !== 'object' || Array.isArray(cnf)) throw new AuthFailure('malformed_claims', { claim: 'cnf' });
  const jkt = (cnf as { jkt?: unknown }).jkt;
  if (jkt === undefined) throw new AuthFailure('unsupported_token_binding', { methods: Object.keys(cnf).slice(0, 5) });
  if (typeof jkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(jkt))
    throw new AuthFailure('malformed_claims', { claim: 'cnf.jkt' });
  return jkt;
}

function nestedRoles(container: unknown, claim: string, delimiter?: ClaimDelimiter): string[] {
  if (container === undefined || container === null) return [];
  if (typeof container !== 'object' || Array.isArray(container)) throw new AuthFailure('malformed_claims', { claim });
  return stringList((container as { roles?: unknown }).roles, `${claim}.roles`, delimiter);
}

function presetFor(options: ClaimMapperOptions): ClaimPreset {
  const ns = options.claimNamespace;
  const d = options.claimDelimiter;
  switch (options.preset) {
    case 'keycloak':
      return {
        tenantClaims: ['tenant'],
        roles: (claims, apiClientIds) => {
          const realm = nestedRoles(claims.realm_access, 'realm_access', d);
          const resourceAccess = claims.resource_access;
          if (
            resourceAccess !== undefined &&
            (typeof resourceAccess !== 'object' || resourceAccess === null || Array.isArray(resourceAccess))
          ) {
            throw new AuthFailure('malformed_claims', { claim: 'resource_access' });
          }
          // Only this API's own client roles: another client's "admin" is not ours (pitfall C18).
          const client = apiClientIds.flatMap((id) =>
            nestedRoles((resourceAccess as Record<string, unknown> | undefined)?.[id], `resource_access.${id}`, d),
          );
          return [...new Set([...realm, ...client])];
        },
        isService: (claims) =>
          typeof claims.preferred_username === 'string' && claims.preferred_username.startsWith('service-account-'),
      };
    case 'auth0':
      return {
        tenantClaims: [`${ns}tenant`],
        roles: (claims) => stringList(claims[`${ns}roles`], `${ns}roles`, d),
        isService: (claims) => claims.gty === 'client-credentials',
      };
    case 'okta':
      return {
        tenantClaims: ['tenant'],
        roles: (claims) => stringList(claims.groups, 'groups', d),
        isService: (claims, clientId) => clientId !== null && claims.sub === clientId && claims.uid === undefined,
      };
    case 'entra':
      return {
        tenantClaims: ['tid'],
        roles: (claims) => stringList(claims.roles, 'roles', d),
        // App-only tokens carry `idtyp: app` (optional claim) and never a delegated `scp`.
        isService: (claims) => claims.idtyp === 'app' || claims.scp === undefined,
      };
    case 'cognito':
      return {
        tenantClaims: ['custom:tenant', 'tenant'],
        roles: (claims) => stringList(claims['cognito:groups'], 'cognito:groups', d),
        isService: (claims, clientId) => clientId !== null && claims.sub === clientId && claims.username === undefined,
      };
    case 'generic':
    default:
      return {
        tenantClaims: ['tenant'],
        roles: (claims) => stringList(claims.roles, 'roles', d),
        // RFC 9068 section 2.2: for client-credentials grants `sub` is the client id.
        isService: (claims, clientId) =>
          claims.gty === 'client-credentials' || (clientId !== null && claims.sub === clientId),
      };
  }
}

/**
 * Turns the verified claims of an access token into a {@link Principal}, with the naming
 * conventions of one identity-provider preset. Pure and synchronous.
 *
 * @throws AuthFailure `malformed_claims` (a claim of the wrong type, or a claim string with NUL or
 *   a lone surrogate), `wrong_token_use`
 *   (an ID or refresh token), `client_id_mismatch` (Cognito: token of another app client)
 */
export class ClaimMapper {
  private readonly preset: ClaimPreset;
  private readonly tenantClaims: string[];

  constructor(private readonly options: ClaimMapperOptions) {
    this.preset = presetFor(options);
    this.tenantClaims = options.tenantClaim ? [options.tenantClaim] : this.preset.tenantClaims;
  }

  map(claims: Record<string, unknown>): Principal {
    // A signed claim is still input: NUL or a lone surrogate in any claim string (sub, tenant,
    // roles, act) would reach the database and the audit trail; the claim's path is recorded.
    const flaw = findInputFlaw(claims, undefined, false);
    if (flaw) throw new AuthFailure('malformed_claims', { claim: flaw.path });
    // Entra ID: `oid` is the stable object id when a token carries no `sub`.
    const subject = claims.sub ?? (this.options.preset === 'entra' ? claims.oid : undefined);
    if (typeof subject !== 'string' || subject === '') throw new AuthFailure('malformed_claims', { claim: 'sub' });
    if (typeof claims.iss !== 'string') throw new AuthFailure('malformed_claims', { claim: 'iss' });
    // Cognito (and any IdP that marks it) says what a token is for; only access tokens are credentials.
    if (claims.token_use !== undefined && claims.token_use !== 'access') {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a claim of any JSON type, named as text in the log detail
      throw new AuthFailure('wrong_token_use', { tokenUse: String(claims.token_use) });
    }
    // ID tokens are not credentials for an API even when their audience matches: `at_hash` and
    // `c_hash` exist only in ID tokens (OIDC Core 3.1.3.6, 3.3.2.11); Keycloak also types its tokens.
    if (claims.at_hash !== undefined || claims.c_hash !== undefined || NON_ACCESS_TYP.has(String(claims.typ))) {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a claim of any JSON type, named as text in the log detail
      throw new AuthFailure('wrong_token_use', { typ: claims.typ === undefined ? 'id_token' : String(claims.typ) });
    }
    const clientId = this.clientId(claims);
    if (
      this.options.preset === 'cognito' &&
      (clientId === null || !this.options.acceptedClientIds.includes(clientId))
    ) {
      throw new AuthFailure('client_id_mismatch', { expected: this.options.acceptedClientIds });
    }
    const { rolesClaim, groupsClaim, claimDelimiter } = this.options;
    const roles = rolesClaim
      ? stringList(readClaimPath(claims, rolesClaim), rolesClaim, claimDelimiter)
      : this.preset.roles(claims, this.options.apiClientIds);
    // Groups join the roles (roleMappings turn them into platform roles), unless the provider left them out (overage).
    const overage = groupsOverage(claims);
    const groups =
      groupsClaim && !overage ? stringList(readClaimPath(claims, groupsClaim), groupsClaim, claimDelimiter) : [];
    return {
      subject,
      type: this.preset.isService(claims, clientId) ? 'service' : 'user',
      tenant: this.tenant(claims),
      roles: groups.length ? [...new Set([...roles, ...groups])] : roles,
      ...(overage && { groupsOverage: true }),
      boundRoles: [],
      scopes: readScopes(claims),
      clientId,
      issuer: claims.iss,
      expiresAt: typeof claims.exp === 'number' ? claims.exp : 0,
      tokenId: typeof claims.jti === 'string' ? claims.jti : null,
      actors: readActors(claims.act),
      boundKeyThumbprint: readBoundKeyThumbprint(claims.cnf),
      claims,
    };
  }

  private clientId(claims: Record<string, unknown>): string | null {
    for (const name of CLIENT_ID_CLAIMS) {
      const value = claims[name];
      if (value === undefined) continue;
      if (typeof value !== 'string' || value === '') throw new AuthFailure('malformed_claims', { claim: name });
      return value;
    }
    return null;
  }

  private tenant(claims: Record<string, unknown>): string | null {
    for (const name of this.tenantClaims) {
      const value = claims[name];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') throw new AuthFailure('malformed_claims', { claim: name });
      return value === '' ? null : value;
    }
    return null;
  }
}
