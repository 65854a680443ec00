/**
 * Seeded identities of the development OpenID provider. Development only: the provider refuses
 * to start with NODE_ENV=production, and these secrets protect nothing real.
 */
export interface DevUser {
  /** Login name, also the token `sub`. */
  username: string;
  /** Null for platform staff, who act outside any tenant. */
  tenant: string | null;
  /** Platform roles, sent in the `roles` claim and mapped to permissions by config/policy.yaml. */
  roles: string[];
  name: string;
  email: string;
}

export interface DevMachineClient {
  clientId: string;
  clientSecret: string;
  /** Null for platform machines (the metrics scraper), which act outside any tenant. */
  tenant: string | null;
  /** Scopes the identity provider lets the client request (what its tokens may carry). */
  scopes: string[];
  /**
   * Scopes its tenant grants the client's service account (the platform's binding); the platform
   * intersects the token's scopes with these. Defaults to `scopes`.
   */
  grantedScopes?: string[];
  /**
   * An AI agent: besides client credentials it may use the token-exchange grant (RFC 8693) to act
   * for users of its own tenant; its delegated tokens carry the user as `sub` and itself in `act`.
   */
  agent?: boolean;
}

export const DEV_TENANTS = ['acme', 'globex'] as const;

export const DEV_USERS: DevUser[] = [
  { username: 'alice', tenant: 'acme', roles: ['admin'], name: 'Alice Adams', email: 'alice@acme.test' },
  { username: 'bob', tenant: 'acme', roles: ['billing-manager'], name: 'Bob Brown', email: 'bob@acme.test' },
  { username: 'carol', tenant: 'acme', roles: ['analyst'], name: 'Carol Clark', email: 'carol@acme.test' },
  { username: 'dave', tenant: 'globex', roles: ['admin'], name: 'Dave Davis', email: 'dave@globex.test' },
  {
    username: 'olivia',
    tenant: null,
    roles: ['platform-operator'],
    name: 'Olivia Owens',
    email: 'olivia@platform.test',
  },
];

/**
 * Name of the secret holding a seeded machine client's secret, e.g. `dev-client-ingest-bot-secret`
 * (a file under SECRETS_DIR, DEV_CLIENT_INGEST_BOT_SECRET_FILE or DEV_CLIENT_INGEST_BOT_SECRET);
 * without it, the public development value below is used.
 */
export const devClientSecretName = (clientId: string) => `dev-client-${clientId}-secret`;

export const DEV_MACHINE_CLIENTS: DevMachineClient[] = [
  // Deliberately allowed one scope too many at the provider (a common misconfiguration): its tokens
  // carry billing:invoices:read, which acme never granted its service account, so invoices stay closed.
  {
    clientId: 'ingest-bot',
    clientSecret: 'dev-only-ingest-bot-secret',
    tenant: 'acme',
    scopes: ['analytics:events:write', 'billing:invoices:read'],
    grantedScopes: ['analytics:events:write'],
  },
  // An AI agent acting for acme users (token exchange): it may read analytics, nothing else.
  {
    clientId: 'assistant-bot',
    clientSecret: 'dev-only-assistant-bot-secret',
    tenant: 'acme',
    scopes: ['analytics:events:read', 'analytics:usage:read'],
    agent: true,
  },
  // Prometheus scrapes /metrics with client credentials (scrape_config `oauth2`), see docs/observability.md.
  {
    clientId: 'metrics-scraper',
    clientSecret: 'dev-only-metrics-scraper-secret',
    tenant: null,
    scopes: ['platform:metrics:read'],
  },
];

/** Public client (PKCE, no secret) that `npm run token -- --user NAME` and the e2e suite log in with. */
export const DEV_CLI_CLIENT = {
  clientId: 'platform-cli',
  redirectUri: 'http://127.0.0.1:53682/callback',
  /** Swagger UI's callback on the platform's own origin (loopback: any port). */
  // Swagger UI at /docs computes /oauth2-redirect.html (forwarded to /docs/oauth2-redirect.html); at /docs/ the latter.
  docsRedirectUris: [
    'http://127.0.0.1/docs/oauth2-redirect.html',
    'http://localhost/docs/oauth2-redirect.html',
    'http://127.0.0.1/oauth2-redirect.html',
    'http://localhost/oauth2-redirect.html',
  ],
} as const;

/**
 * Public client (PKCE, no secret) of the operator console at `/console`: a browser app on the
 * platform's own origin. Registered as a loopback client (RFC 8252 section 7.3), so the provider
 * accepts its redirect on any port of 127.0.0.1 or localhost, as the platform's port varies.
 */
export const DEV_CONSOLE_CLIENT = {
  clientId: 'platform-console',
  redirectUris: ['http://127.0.0.1/console', 'http://localhost/console'],
} as const;

/**
 * The scopes the seeded machine clients name that `resourceScopes` (the platform API's scopes,
 * from the apps' manifests: libs never import apps, so the root app passes them) does not declare.
 * Empty when the seed agrees with the manifests.
 */
export function undeclaredSeedScopes(resourceScopes: readonly string[]): string[] {
  const declared = new Set(resourceScopes);
  return [
    ...new Set(DEV_MACHINE_CLIENTS.flatMap((client) => [...client.scopes, ...(client.grantedScopes ?? [])])),
  ].filter((scope) => !declared.has(scope));
}
