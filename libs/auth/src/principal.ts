/**
 * A party acting on the subject's behalf (RFC 8693 section 4.1 `act`), e.g. an AI agent's client.
 */
export interface Actor {
  /** The actor's `sub` (for a client, usually its client id). */
  subject: string;
  /** The actor's `client_id`, when the `act` claim names one. */
  clientId: string | null;
}

/**
 * The authenticated caller of one request, built by the claim mapper from a verified access token.
 * `type` is `service` for machine tokens (client credentials), `user` for a person.
 */
export interface Principal {
  subject: string;
  type: 'user' | 'service';
  /** Tenant (organization) the principal acts in; null when the token names none. */
  tenant: string | null;
  /** Identity-provider roles or groups, in token order, without duplicates (role mappings apply to these). */
  roles: string[];
  /**
   * True when the provider said the person's groups did not fit in the token (Entra ID groups
   * overage): group-derived roles are then unknown, never guessed; a refusal names `groups_overage`.
   */
  groupsOverage?: boolean;
  /** Platform roles bound to the principal inside the platform (role bindings); empty until the guard adds them. */
  boundRoles: readonly string[];
  /** Granted OAuth scopes (RFC 6749 section 3.3), from `scope` or `scp`. */
  scopes: string[];
  /** OAuth client the token was issued to (`client_id`, `azp`, `cid` or `appid`). */
  clientId: string | null;
  issuer: string;
  /** Token `exp`, in epoch seconds. */
  expiresAt: number;
  /** Token `jti`, when present (logged instead of the token). */
  tokenId: string | null;
  /**
   * Who acts for the subject, current actor first, then each prior actor (a delegation chain from
   * nested `act` claims, RFC 8693 section 4.1). Empty when the subject acts itself.
   */
  actors: readonly Actor[];
  /**
   * RFC 9449 section 6.1 / RFC 7800: the JWK SHA-256 thumbprint (`cnf.jkt`) of the key the token
   * is bound to, or null for a plain bearer token. A bound token is accepted only with a DPoP proof
   * signed by that key.
   */
  boundKeyThumbprint: string | null;
  /** Every verified claim, for apps that need more (never logged). */
  claims: Readonly<Record<string, unknown>>;
}
