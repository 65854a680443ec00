import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** RFC 8693 section 2.1: the grant type of a token exchange. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8693 section 3: the only token type this provider exchanges and issues. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** RFC 8693 section 4.1 `act` claim: the current actor, with the prior actor nested inside. */
export interface ActClaim {
  sub: string;
  client_id?: string;
  act?: ActClaim;
}

/** What a delegated token says beyond a client-credentials token: the user it is for and who acts. */
export interface Delegation {
  /** The user, the new token's `sub`. */
  subject: string;
  /** Claims carried over from the subject token (tenant, roles, name, email). */
  claims: Record<string, unknown>;
  act: ActClaim;
}

/** oidc-provider pieces the grant needs (its error classes and the token model). */
interface ProviderLike {
  ClientCredentials: new (fields: Record<string, unknown>) => {
    resourceServer?: unknown;
    scope?: string;
    expiresIn?: number;
    expiration: number;
    tokenType: string;
    setThumbprint(kind: 'jkt', thumbprint: string): void;
    save(): Promise<string>;
  };
  ResourceServer: new (identifier: string, info: Record<string, unknown>) => unknown;
  ReplayDetection: { unique(namespace: string, id: string, expiresAt: number): Promise<boolean> };
}

/** oidc-provider's own DPoP proof check at its token endpoint (the one its client-credentials grant uses). */
type DpopValidate = (ctx: KoaContextWithOIDC) => Promise<{ thumbprint: string; jti: string } | undefined>;
/** Typed string, not its literal: tsc would otherwise resolve this untyped module (TS7016). */
const VALIDATE_DPOP_MODULE: string = 'oidc-provider/lib/helpers/validate_dpop.js';
let dpopModule: Promise<{ default: DpopValidate; DPOP_OK_WINDOW: number }> | undefined;
const loadDpop = () =>
  (dpopModule ??= (
    import(VALIDATE_DPOP_MODULE) as Promise<{
      default: DpopValidate;
      DPOP_OK_WINDOW: number;
    }>
  ).catch((err: unknown) => {
    dpopModule = undefined;
    throw err;
  }));

type OidcErrorClass = new (description?: string, detail?: string) => Error;

/** Options of {@link tokenExchangeGrant}. */
export interface TokenExchangeOptions {
  issuer: string;
  /** The one resource server (audience) tokens are issued for. */
  audience: string;
  /** Resource-server settings, as `getResourceServerInfo` returns them. */
  resourceServerInfo: () => Record<string, unknown>;
  /** The provider's public signing keys right now (a subject token is verified against them). */
  publicKeys: () => Record<string, unknown>[];
  errors: {
    InvalidGrant: OidcErrorClass;
    InvalidRequest: OidcErrorClass;
    InvalidScope: OidcErrorClass;
    InvalidTarget: OidcErrorClass;
  };
  /** Where the handler leaves each new token's delegation for `extraTokenClaims` and the JWT customizer. */
  delegations: WeakMap<object, Delegation>;
}

/** Claims of the subject token that describe the user and travel into the delegated token. */
const CARRIED_CLAIMS = ['tenant', 'roles', 'name', 'email'];

/** RFC 8693 section 2.1 request parameters (beyond grant_type) the grant reads. */
export const TOKEN_EXCHANGE_PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'scope',
  'resource',
  'audience',
];

/**
 * The development provider's token-exchange grant (RFC 8693) for AI agents acting for people:
 * the authenticated client (the agent, whose `grant_types` allow this grant) presents a user's
 * access token from this provider as `subject_token` and receives a JWT access token whose `sub` is
 * the user and whose `act` names the agent (RFC 8693 section 4.1). Exchanging an already delegated
 * token nests the earlier `act` (a delegation chain). Rules, development-grade but strict:
 * - the subject token must be a valid access token of this provider for the resource, and a user's
 *   (not a machine's own client-credentials token);
 * - the user must belong to the agent's tenant;
 * - an `actor_token`, when given, must be the agent's own access token;
 * - scopes: those requested (default: all the agent may request), each within the agent's allowed
 *   scopes (else `invalid_scope`). The user's roles are carried as they are; the platform grants
 *   the intersection of what both may do;
 * - a sender-constrained subject or actor token (`cnf`) is refused: exchanging it would strip the
 *   binding from a token whose key the agent may not hold;
 * - with a DPoP proof at the token endpoint, the new token is bound to the proof's key (RFC 9449),
 *   as the provider's client-credentials grant does;
 * - the new token never outlives the subject token.
 *
 * @returns the Koa handler to pass to `provider.registerGrantType`
 */
export function tokenExchangeGrant(options: TokenExchangeOptions) {
  const { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget } = options.errors;

  const verify = async (token: string, what: string): Promise<JWTPayload> => {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: options.publicKeys() }), {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
      });
      return payload;
    } catch {
      throw new InvalidGrant(`${what} is not a valid access token of this provider for ${options.audience}`);
    }
  };

  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    const client = ctx.oidc.client as unknown as {
      clientId: string;
      scope?: string;
      tenant?: string;
      dpopBoundAccessTokens?: boolean;
    };
    const provider = ctx.oidc.provider as unknown as ProviderLike;
    if (!params.subject_token) throw new InvalidRequest('subject_token is required');
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE)
      throw new InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new InvalidRequest(`only ${ACCESS_TOKEN_TYPE} can be requested`);
    }
    const resource = params.resource ?? params.audience ?? options.audience;
    if (resource !== options.audience) throw new InvalidTarget(`tokens are issued for ${options.audience} only`);

    const subject = await verify(params.subject_token, 'subject_token');
    if (subject.cnf !== undefined) throw new InvalidGrant('a sender-constrained subject_token cannot be exchanged');
    const prior = subject.act as ActClaim | undefined;
    if (typeof subject.sub !== 'string' || (prior === undefined && subject.sub === subject.client_id)) {
      throw new InvalidGrant("subject_token must be a user's access token, not a machine's own");
    }
    if (client.tenant === undefined || subject.tenant !== client.tenant) {
      throw new InvalidGrant('the agent may act only for users of its own tenant');
    }
    if (params.actor_token !== undefined) {
      if (params.actor_token_type !== ACCESS_TOKEN_TYPE)
        throw new InvalidRequest(`actor_token_type must be ${ACCESS_TOKEN_TYPE}`);
      const actor = await verify(params.actor_token, 'actor_token');
      if (actor.cnf !== undefined) throw new InvalidGrant('a sender-constrained actor_token cannot be used here');
      if (actor.sub !== client.clientId)
        throw new InvalidGrant("actor_token must be the authenticated client's own token");
    }

    const allowed = new Set((client.scope ?? '').split(' ').filter(Boolean));
    const requested = params.scope ? [...new Set(params.scope.split(' ').filter(Boolean))] : [...allowed];
    const refused = requested.find((scope) => !allowed.has(scope));
    if (refused) throw new InvalidScope('requested scope is not allowed for this agent', refused);
    const info = options.resourceServerInfo();
    const resourceScopes = new Set((typeof info.scope === 'string' ? info.scope : '').split(' '));
    const scope = requested.filter((s) => resourceScopes.has(s)).join(' ') || undefined;

    const carried = Object.fromEntries(
      CARRIED_CLAIMS.filter((c) => subject[c] !== undefined).map((c) => [c, subject[c]]),
    );
    const { default: validateDpop, DPOP_OK_WINDOW } = await loadDpop();
    const proof = await validateDpop(ctx);
    const token = new provider.ClientCredentials({ client, scope });
    token.resourceServer = new provider.ResourceServer(options.audience, info);
    const now = Math.floor(Date.now() / 1000);
    token.expiresIn = Math.max(1, Math.min(Number(info.accessTokenTTL ?? 3600), (subject.exp as number) - now));
    if (proof) {
      if (!(await provider.ReplayDetection.unique(client.clientId, proof.jti, now + DPOP_OK_WINDOW)))
        throw new InvalidGrant('DPoP proof JWT Replay detected');
      token.setThumbprint('jkt', proof.thumbprint);
    } else if (client.dpopBoundAccessTokens) {
      throw new InvalidGrant('DPoP proof JWT not provided');
    }
    options.delegations.set(token, {
      subject: subject.sub,
      claims: carried,
      act: { sub: client.clientId, client_id: client.clientId, ...(prior && { act: prior }) },
    });
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: token.tokenType,
      expires_in: token.expiration,
      scope,
    };
    await next();
  };
}
