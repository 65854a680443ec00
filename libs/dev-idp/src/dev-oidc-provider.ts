import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { isLoopbackOrigin } from './loopback-origin';
import { DevMemoryStore } from './memory-store';
import { findDevUser } from './profile-users';
import { DEV_PROVIDER_ID, DEV_PROVIDER_METADATA } from './provider-identity';
import { DEV_CLI_CLIENT, DEV_CONSOLE_CLIENT, DEV_MACHINE_CLIENTS, DEV_USERS, undeclaredSeedScopes } from './seed';
import { TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_PARAMETERS, tokenExchangeGrant, type Delegation } from './token-exchange';

/** Options of {@link startDevOidcProvider}. */
export interface DevOidcProviderOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Resource indicator (RFC 8707) the access tokens are issued for: their `aud`. */
  audience: string;
  /** Folder where the signing key is kept across restarts. */
  dataDir: string;
  /** Access token lifetime, in seconds. */
  accessTokenTtlSeconds?: number;
  /** Every OAuth scope of the platform API (the resource server's scopes); default: the seeded clients' scopes. */
  resourceScopes?: string[];
}

/** A machine client registered at run time (a tenant's service account). */
export interface DevMachineRegistration {
  clientId: string;
  clientSecret: string;
  tenant: string;
  scopes: string[];
}

/** A running development provider. */
export interface DevOidcProvider {
  /** Issuer identifier, e.g. `http://127.0.0.1:3001`. */
  issuer: string;
  /**
   * Creates a client-credentials client at once (a service account registered through the API),
   * kept under `DATA_DIR/dev-idp/clients.json` so it survives restarts of the development setup.
   */
  registerClient(client: DevMachineRegistration): Promise<void>;
  /**
   * Starts signing with a new RS256 key (an RSA private key in PEM). The JWKS publishes it from
   * this moment, as tokens signed with it are issued (relying parties find it through their
   * unknown-`kid` refetch), and keeps publishing the previous key for one access-token lifetime,
   * so tokens signed before stay valid until they expire. Sessions and grants survive.
   *
   * @returns the new key's `kid`
   * @throws Error when the PEM is not an RSA private key
   */
  rotateSigningKey(pem: string): string;
  /**
   * Sets a seeded machine client's secret (the `dev-client-<id>-secret` secret): client
   * authentication uses the new value from the next token request on.
   * @throws Error for a client that is not seeded
   */
  setSeededClientSecret(clientId: string, clientSecret: string): Promise<void>;
  close(): Promise<void>;
}

/** A JWK of an RS256 signing key, its `kid` derived from the key (RFC 7638 thumbprint prefix). */
function signingJwkFromPem(pem: string): Record<string, unknown> {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the development provider signs with RSA keys (RS256)');
  const jwk = key.export({ format: 'jwk' });
  const thumbprint = createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
    .digest('base64url');
  return { ...jwk, kid: `dev-${thumbprint.slice(0, 12)}`, alg: 'RS256', use: 'sig' };
}

const registeredClientsFile = (dataDir: string) => path.join(dataDir, 'dev-idp', 'clients.json');

/** oidc-provider metadata of a client-credentials client. */
function machineClientMetadata(c: {
  clientId: string;
  clientSecret: string;
  scopes: string[];
  tenant: string | null;
  agent?: boolean;
}) {
  return {
    client_id: c.clientId,
    client_secret: c.clientSecret,
    // Agents may also exchange a user's token for a delegated one (RFC 8693).
    grant_types: c.agent ? ['client_credentials', TOKEN_EXCHANGE_GRANT] : ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: c.scopes.join(' '),
    tenant: c.tenant ?? undefined,
  };
}

/** The provider's RS256 signing key: generated once per data folder so tokens survive restarts. */
function signingJwks(dataDir: string): { keys: Record<string, unknown>[] } {
  const file = path.join(dataDir, 'dev-idp', 'signing-jwks.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, unknown>[] };
  // Generated as PEM and parsed again: exporting a JWK straight from a KeyObject that key
  // generation returned can deadlock Node 20 when the generation job is garbage-collected meanwhile.
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const jwks = {
    keys: [
      {
        ...createPrivateKey(privateKey).export({ format: 'jwk' }),
        kid: `dev-${randomUUID().slice(0, 8)}`,
        alg: 'RS256',
        use: 'sig',
      },
    ],
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(jwks), { mode: 0o600 });
  return jwks;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Starts the development OpenID provider (panva's oidc-provider) on 127.0.0.1: the seeded users
 * log in through a real authorization-code + PKCE flow (the interaction accepts `login_hint` or a
 * click, with no password), machines through client credentials. Access tokens are RFC 9068 JWTs
 * (`typ: at+jwt`) carrying `tenant` and, for people, `roles`.
 *
 * @throws Error when NODE_ENV is `production`: the development provider never runs there; when a
 *   seeded client names a scope missing from `resourceScopes`.
 */
export async function startDevOidcProvider(options: DevOidcProviderOptions): Promise<DevOidcProvider> {
  if (process.env.NODE_ENV === 'production')
    throw new Error('The development OpenID provider refuses to start with NODE_ENV=production');
  const resourceScopes = [...new Set(options.resourceScopes ?? DEV_MACHINE_CLIENTS.flatMap((client) => client.scopes))];
  // The manifests are the one list of scopes: a seeded client naming another is a stale seed.
  const undeclared = undeclaredSeedScopes(resourceScopes);
  if (undeclared.length > 0)
    throw new Error(
      `The development provider's seeded clients name scopes no app manifest declares: ${undeclared.join(', ')}`,
    );
  // oidc-provider is ESM-only; Node >= 20.19 loads it through require().
  const { default: Provider, errors } = await import('oidc-provider');

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ttl = options.accessTokenTtlSeconds ?? 3600;
  /** Signing first, then keys still published for tokens signed before a rotation. */
  let signingKeys = signingJwks(options.dataDir).keys;
  // Clients registered by earlier runs (service accounts), back in the provider's store.
  const clientsFile = registeredClientsFile(options.dataDir);
  const registered: DevMachineRegistration[] = existsSync(clientsFile)
    ? (JSON.parse(readFileSync(clientsFile, 'utf8')) as DevMachineRegistration[])
    : [];
  const clientStore = new DevMemoryStore('Client');
  /** Delegated tokens being issued by the token-exchange grant: their user and actor chain. */
  const delegations = new WeakMap<object, Delegation>();
  const resourceServerInfo = () => ({
    scope: resourceScopes.join(' '),
    audience: options.audience,
    accessTokenTTL: ttl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  });
  const TEN_YEARS_SECONDS = 10 * 365 * 24 * 3600;
  // Seeded machine clients live in the store too, so that their secrets can be rotated.
  for (const client of [...DEV_MACHINE_CLIENTS, ...registered])
    await clientStore.upsert(client.clientId, machineClientMetadata(client), TEN_YEARS_SECONDS);

  const configuration: Configuration = {
    adapter: DevMemoryStore,
    clients: [
      {
        client_id: DEV_CLI_CLIENT.clientId,
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // The token command's callback, and the OpenAPI page's (Swagger UI signs in with this
        // client too); a native client's loopback redirect matches on any port (RFC 8252 7.3).
        redirect_uris: [DEV_CLI_CLIENT.redirectUri, ...DEV_CLI_CLIENT.docsRedirectUris],
      },
      {
        client_id: DEV_CONSOLE_CLIENT.clientId,
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [...DEV_CONSOLE_CLIENT.redirectUris],
      },
    ],
    // Browser clients redeem their code with a cross-origin fetch: the console and the OpenAPI page
    // (which signs in with the token command's client), from http: loopback origins only.
    clientBasedCORS: (_ctx, origin, client) =>
      (client.clientId === DEV_CONSOLE_CLIENT.clientId || client.clientId === DEV_CLI_CLIENT.clientId) &&
      isLoopbackOrigin(origin),
    // Names itself, so that the token command refuses any other provider (provider-identity.ts).
    discovery: { [DEV_PROVIDER_METADATA]: DEV_PROVIDER_ID },
    extraClientMetadata: { properties: ['tenant'] },
    findAccount: (_ctx, id) => {
      const user = findDevUser(id);
      if (!user) return undefined;
      return {
        accountId: user.username,
        claims: () => ({
          sub: user.username,
          name: user.name,
          email: user.email,
          ...(user.tenant && { tenant: user.tenant }),
        }),
      };
    },
    claims: { openid: ['sub'], profile: ['name', 'email', 'tenant'] },
    scopes: ['openid', 'profile', ...resourceScopes],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: KoaContextWithOIDC, resource: string) => {
          if (resource !== options.audience) throw new errors.InvalidTarget();
          return resourceServerInfo() as ReturnType<
            NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>['getResourceServerInfo'] & object
          >;
        },
      },
      // RFC 9449: a client that sends a DPoP proof to the token endpoint gets a token bound to its key (cnf.jkt).
      dPoP: { enabled: true },
    },
    formats: {
      customizers: {
        // A delegated token is about the user, not the agent that asked for it (RFC 8693 section 4.1).
        jwt: (_ctx, token, jwt) => {
          const delegation = delegations.get(token);
          if (delegation) jwt.payload.sub = delegation.subject;
          return jwt;
        },
      },
    },
    extraTokenClaims: async (ctx, token) => {
      const delegation = delegations.get(token);
      if (delegation) return { ...delegation.claims, act: delegation.act };
      const accountId = (token as { accountId?: string }).accountId;
      if (accountId) {
        const user = findDevUser(accountId);
        // Name and email too, as Keycloak puts them in access tokens: the platform provisions profiles from them.
        return user
          ? { ...(user.tenant && { tenant: user.tenant }), roles: user.roles, name: user.name, email: user.email }
          : undefined;
      }
      // Seeded or registered at run time: the client's own metadata names its tenant.
      const tenant = (ctx.oidc.client as { tenant?: string } | undefined)?.tenant;
      return tenant ? { tenant } : undefined;
    },
    pkce: { required: () => true },
    jwks: { keys: signingKeys },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    ttl: {
      IdToken: 3600,
      AccessToken: ttl,
      ClientCredentials: ttl,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AuthorizationCode: 60,
    },
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
  // Rebuilt on key rotation; sessions, grants and clients live in the shared store and survive.
  const publicKeys = () => signingKeys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use }));
  const exchange = tokenExchangeGrant({
    issuer,
    audience: options.audience,
    resourceServerInfo,
    publicKeys,
    errors: errors as unknown as Parameters<typeof tokenExchangeGrant>[0]['errors'],
    delegations,
  });
  const build = (keys: Record<string, unknown>[]) => {
    const built = new Provider(issuer, { ...configuration, jwks: { keys } });
    built.registerGrantType(TOKEN_EXCHANGE_GRANT, exchange, TOKEN_EXCHANGE_PARAMETERS);
    return built;
  };
  let provider = build(signingKeys);
  let oidcHandler = provider.callback();
  const rebuild = (keys: Record<string, unknown>[]) => {
    signingKeys = keys;
    provider = build(keys);
    oidcHandler = provider.callback();
  };
  const retirements = new Set<NodeJS.Timeout>();

  const interaction = async (req: IncomingMessage, res: ServerResponse) => {
    const details = await provider.interactionDetails(req, res);
    const { uid, prompt, params } = details;
    if (prompt.name === 'login') {
      const chosen =
        new URL(req.url ?? '/', issuer).searchParams.get('user') ?? (params.login_hint as string | undefined);
      const user = chosen === undefined ? undefined : findDevUser(chosen);
      if (!user) {
        const links = DEV_USERS.map(
          (u) =>
            `<li><a href="/interaction/${escapeHtml(uid)}?user=${escapeHtml(u.username)}">${escapeHtml(u.username)}</a> (${escapeHtml(u.tenant ?? 'no tenant')}: ${escapeHtml(u.roles.join(', '))})</li>`,
        ).join('');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<!doctype html><title>Development sign-in</title><h1>Development sign-in</h1><p>Pick a seeded user:</p><ul>${links}</ul>`,
        );
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.username } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    // Consent: the development provider grants what was asked, within the client's allowed scopes.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session?.accountId, clientId: params.client_id as string });
    if (!grant) throw new Error('grant not found');
    const missing = prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  };

  handler = (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: 'invalid_request', error_description: 'interaction failed or expired; start again' }),
        );
      });
      return;
    }
    void oidcHandler(req, res);
  };

  return {
    issuer,
    registerClient: async (client) => {
      await clientStore.upsert(client.clientId, machineClientMetadata(client), TEN_YEARS_SECONDS);
      registered.push(client);
      mkdirSync(path.dirname(clientsFile), { recursive: true });
      writeFileSync(clientsFile, JSON.stringify(registered), { mode: 0o600 });
    },
    setSeededClientSecret: async (clientId, clientSecret) => {
      const seeded = DEV_MACHINE_CLIENTS.find((c) => c.clientId === clientId);
      if (!seeded) throw new Error(`"${clientId}" is not a seeded machine client`);
      await clientStore.upsert(clientId, machineClientMetadata({ ...seeded, clientSecret }), TEN_YEARS_SECONDS);
    },
    rotateSigningKey: (pem) => {
      const next = signingJwkFromPem(pem);
      if (next.kid === signingKeys[0].kid) return next.kid as string;
      const previous = signingKeys[0];
      rebuild([next, ...signingKeys.filter((k) => k.kid !== next.kid)]);
      // The previous key stays published one token lifetime, then goes.
      const retire = setTimeout(() => {
        retirements.delete(retire);
        if (signingKeys[0].kid !== previous.kid) rebuild(signingKeys.filter((k) => k.kid !== previous.kid));
      }, ttl * 1000).unref();
      retirements.add(retire);
      return next.kid as string;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const retire of retirements) clearTimeout(retire);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
