import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type CryptoKey, type JWK } from 'jose';
import { findDevUser } from './profile-users';
import { DEV_CLI_CLIENT, DEV_MACHINE_CLIENTS, DEV_USERS } from './seed';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from './token-exchange';

/** A client's DPoP key pair (RFC 9449): the private key signs proofs, the public JWK goes in their header. */
export interface DpopKey {
  privateKey: CryptoKey | KeyObject;
  publicJwk: JWK;
  alg: 'ES256';
}

/** A new ES256 DPoP key pair. */
export async function generateDpopKey(): Promise<DpopKey> {
  // As PEM, then parsed: a JWK exported from a freshly generated key object can deadlock Node 20.
  const pem = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return {
    privateKey: createPrivateKey(pem.privateKey),
    publicJwk: createPublicKey(pem.publicKey).export({ format: 'jwk' }),
    alg: 'ES256',
  };
}

/**
 * A DPoP proof JWT (RFC 9449 section 4.2) for one request: header `typ: dpop+jwt` with the public
 * JWK, claims `jti` (fresh), `htm`, `htu` (without query and fragment), `iat` (now, epoch seconds)
 * and, when an access token is given, `ath` (its SHA-256, base64url). `overrides` replace claims
 * (tests use it to forge bad proofs).
 */
export async function createDpopProof(
  key: DpopKey,
  method: string,
  url: string,
  accessToken?: string,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const target = new URL(url);
  const claims: Record<string, unknown> = {
    jti: randomUUID(),
    htm: method,
    htu: `${target.origin}${target.pathname}`,
    iat: Math.floor(Date.now() / 1000),
    ...(accessToken !== undefined && { ath: createHash('sha256').update(accessToken).digest('base64url') }),
    ...overrides,
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk })
    .sign(key.privateKey);
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery at ${issuer} answered ${response.status}`);
  return (await response.json()) as Discovery;
}

async function tokenRequest(
  endpoint: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
  dpop?: DpopKey,
): Promise<string> {
  if (dpop) headers = { ...headers, dpop: await createDpopProof(dpop, 'POST', endpoint) };
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
  const json = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || !json.access_token)
    throw new Error(`token endpoint: ${json.error ?? response.status} ${json.error_description ?? ''}`.trim());
  return json.access_token;
}

/**
 * Gets an access token for a seeded user from the development provider through a real
 * authorization-code flow with PKCE (RFC 7636): the interaction signs the user in from
 * `login_hint`; redirects are followed by hand with a cookie jar.
 *
 * @param audience resource indicator (RFC 8707) the token is for
 * @throws Error when the provider is unreachable or the user is not seeded
 */
export async function devUserToken(issuer: string, username: string, audience: string): Promise<string> {
  if (!findDevUser(username)) {
    throw new Error(
      `no seeded user "${username}" (seeded: ${DEV_USERS.map((u) => u.username).join(', ')}; or a test profile, profile:<tenant>:<roles>)`,
    );
  }
  const { authorization_endpoint, token_endpoint } = await discover(issuer);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorize = new URL(authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: DEV_CLI_CLIENT.clientId,
    response_type: 'code',
    redirect_uri: DEV_CLI_CLIENT.redirectUri,
    scope: 'openid profile',
    resource: audience,
    login_hint: username,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
  }).toString();

  const cookies = new Map<string, string>();
  let url = authorize.toString();
  for (let hop = 0; hop < 10; hop++) {
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`sign-in of "${username}" stopped at ${response.status} (is the user seeded?)`);
    const next = new URL(location, url);
    if (next.toString().startsWith(DEV_CLI_CLIENT.redirectUri)) {
      const code = next.searchParams.get('code');
      if (!code) throw new Error(`authorization failed: ${next.searchParams.get('error') ?? 'no code'}`);
      return tokenRequest(token_endpoint, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: DEV_CLI_CLIENT.redirectUri,
        client_id: DEV_CLI_CLIENT.clientId,
        code_verifier: verifier,
        resource: audience,
      });
    }
    url = next.toString();
  }
  throw new Error('too many redirects during sign-in');
}

/**
 * Gets an access token for a seeded machine client through the client-credentials grant
 * (RFC 6749 section 4.4), asking for every scope the client may have.
 *
 * @throws Error when the provider is unreachable or the client is not seeded
 */
export async function devClientToken(issuer: string, clientId: string, audience: string): Promise<string> {
  const client = DEV_MACHINE_CLIENTS.find((c) => c.clientId === clientId);
  if (!client) {
    throw new Error(
      `no seeded machine client "${clientId}" (seeded: ${DEV_MACHINE_CLIENTS.map((c) => c.clientId).join(', ')}); for a registered service account give --secret and --scope`,
    );
  }
  return clientCredentialsToken(issuer, client, audience);
}

/**
 * An access token for any client-credentials client (RFC 6749 section 4.4, client_secret_basic),
 * e.g. a service account registered through the API.
 *
 * @param client its id, secret and the scopes to ask for
 * @throws Error with the provider's error code when the request is refused
 */
export async function clientCredentialsToken(
  issuer: string,
  client: { clientId: string; clientSecret: string; scopes: string[] },
  audience: string,
  options: { dpop?: DpopKey } = {},
): Promise<string> {
  const { token_endpoint } = await discover(issuer);
  return tokenRequest(
    token_endpoint,
    { grant_type: 'client_credentials', scope: client.scopes.join(' '), resource: audience },
    { authorization: basicAuth(client) },
    options.dpop,
  );
}

const basicAuth = (client: { clientId: string; clientSecret: string }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;

/**
 * A delegated access token (RFC 8693 token exchange): the agent client trades a user's access
 * token for one whose `sub` is the user and whose `act` names the agent. Exchanging a token that is
 * already delegated makes a chain (nested `act`).
 *
 * @param subjectToken the user's (or an earlier delegated) access token
 * @param scopes scopes to ask for; default: every scope the agent may request
 * @param options.dpop a key to bind the new token to (RFC 9449)
 * @throws Error with the provider's error code (`invalid_grant`, `invalid_scope`, `unauthorized_client`)
 */
export async function delegatedToken(
  issuer: string,
  subjectToken: string,
  agent: { clientId: string; clientSecret: string },
  audience: string,
  scopes?: string[],
  options: { dpop?: DpopKey } = {},
): Promise<string> {
  const { token_endpoint } = await discover(issuer);
  return tokenRequest(
    token_endpoint,
    {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      resource: audience,
      ...(scopes && { scope: scopes.join(' ') }),
    },
    { authorization: basicAuth(agent) },
    options.dpop,
  );
}
