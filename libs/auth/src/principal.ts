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
  /** Every verified claim, for apps that need more (never logged). */
  claims: Readonly<Record<string, unknown>>;
}
