import { createHash, randomBytes } from 'node:crypto';
import { DEV_CLI_CLIENT, DEV_MACHINE_CLIENTS, DEV_USERS } from './seed';

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery at ${issuer} answered ${response.status}`);
  return (await response.json()) as Discovery;
}

async function tokenRequest(endpoint: string, body: Record<string, string>, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
  const json = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || !json.access_token) throw new Error(`token endpoint: ${json.error ?? response.status} ${json.error_description ?? ''}`.trim());
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
  if (!DEV_USERS.some((u) => u.username === username)) {
    throw new Error(`no seeded user "${username}" (seeded: ${DEV_USERS.map((u) => u.username).join(', ')})`);
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
    throw new Error(`no seeded machine client "${clientId}" (seeded: ${DEV_MACHINE_CLIENTS.map((c) => c.clientId).join(', ')}); for a registered service account give --secret and --scope`);
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
export async function clientCredentialsToken(issuer: string, client: { clientId: string; clientSecret: string; scopes: string[] }, audience: string): Promise<string> {
  const { token_endpoint } = await discover(issuer);
  const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64');
  return tokenRequest(token_endpoint, { grant_type: 'client_credentials', scope: client.scopes.join(' '), resource: audience }, { authorization: `Basic ${basic}` });
}
