import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLI_CLIENT, DEV_CONSOLE_CLIENT } from '@platform/dev-idp';
import { TestPlatform } from '../support/test-platform';

/**
 * What Swagger UI does when one clicks Authorize: authorization code + PKCE with the token
 * command's client, redirect to /docs/oauth2-redirect.html on the platform's origin, then the code
 * exchanged from the browser (a CORS request from that origin, without a client secret).
 */
async function signInAsDocsPage(issuer: string, origin: string, username: string, audience: string): Promise<{ tokenResponse: Response; body: { access_token?: string } }> {
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = `${origin}/docs/oauth2-redirect.html`;
  const authorize = new URL(`${issuer}/auth`);
  authorize.search = new URLSearchParams({
    client_id: DEV_CLI_CLIENT.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile',
    resource: audience,
    login_hint: username,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 'docs',
  }).toString();
  const cookies = new Map<string, string>();
  let url = authorize.toString();
  for (let hop = 0; hop < 10; hop++) {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`sign-in stopped at ${response.status}: ${await response.text()}`);
    const next = new URL(location, url);
    if (next.toString().startsWith(redirectUri)) {
      const tokenResponse = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: next.searchParams.get('code') ?? '', redirect_uri: redirectUri, client_id: DEV_CLI_CLIENT.clientId, code_verifier: verifier }),
      });
      return { tokenResponse, body: (await tokenResponse.json()) as { access_token?: string } };
    }
    url = next.toString();
  }
  throw new Error('too many redirects');
}

describe('the OpenAPI page signs in through the development provider', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await TestPlatform.start();
  });
  afterAll(() => platform?.close());

  it('the document offers the provider (authorization code) wherever a bearer token is accepted; the page uses PKCE with the token command client', async () => {
    const doc = (await platform.request('GET', '/docs/openapi.json')).body;
    expect(doc.components.securitySchemes['development-provider']).toMatchObject({
      type: 'oauth2',
      flows: { authorizationCode: { authorizationUrl: `${platform.issuer}/auth`, tokenUrl: `${platform.issuer}/token` } },
    });
    expect(doc.paths['/billing/invoices'].get.security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'development-provider': ['openid'] }]));
    expect(doc.paths['/health/live'].get.security ?? []).toEqual([]);
    const init = await platform.request('GET', '/docs/swagger-ui-init.js');
    expect(init.body).toContain(`"clientId": "${DEV_CLI_CLIENT.clientId}"`);
    expect(init.body).toContain('"usePkceWithAuthorizationCodeGrant": true');
    // The token stays in the page's memory: with persistAuthorization Swagger UI would write it to localStorage.
    expect(init.body).not.toContain('persistAuthorization');
    expect((await platform.request('GET', '/docs/oauth2-redirect.html')).status).toBe(200);
  });

  for (const host of ['127.0.0.1', 'localhost']) {
    it(`a person signs in from the page on ${host}; the browser may read the token (CORS) and it works on the API`, async () => {
      const origin = `http://${host}:${new URL(platform.url).port}`;
      const { tokenResponse, body } = await signInAsDocsPage(platform.issuer, origin, 'bob', platform.audience);
      expect(tokenResponse.status).toBe(200);
      expect(tokenResponse.headers.get('access-control-allow-origin')).toBe(origin);
      expect((await platform.request('GET', '/billing/invoices', { token: body.access_token })).status).toBe(200);
    });
  }

  it('another origin gets no CORS grant for the token exchange', async () => {
    const response = await fetch(`${platform.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: DEV_CLI_CLIENT.clientId }) });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('both browser clients (console, OpenAPI page) get CORS from http: loopback origins only, not https: nor elsewhere', async () => {
    const port = new URL(platform.url).port;
    const grant = async (clientId: string, origin: string) =>
      (await fetch(`${platform.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: clientId }) })).headers.get('access-control-allow-origin');
    for (const clientId of [DEV_CONSOLE_CLIENT.clientId, DEV_CLI_CLIENT.clientId]) {
      for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) expect(await grant(clientId, origin)).toBe(origin);
      for (const origin of [`https://127.0.0.1:${port}`, `https://localhost:${port}`, 'http://localhost.evil.example']) expect(await grant(clientId, origin)).toBeNull();
    }
  });
});
