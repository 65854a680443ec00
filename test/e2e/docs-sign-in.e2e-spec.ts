import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLI_CLIENT, DEV_CONSOLE_CLIENT } from '@platform/dev-idp';
import { CHROMIUM_PATH } from '../support/global-setup';
import { TestPlatform } from '../support/test-platform';

/**
 * What Swagger UI does when one clicks Authorize: authorization code + PKCE with the token
 * command's client, redirect to /docs/oauth2-redirect.html on the platform's origin, then the code
 * exchanged from the browser (a CORS request from that origin, without a client secret).
 */
async function signInAsDocsPage(
  issuer: string,
  origin: string,
  username: string,
  audience: string,
): Promise<{ tokenResponse: Response; body: { access_token?: string } }> {
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
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
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
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: next.searchParams.get('code') ?? '',
          redirect_uri: redirectUri,
          client_id: DEV_CLI_CLIENT.clientId,
          code_verifier: verifier,
        }),
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
      flows: {
        authorizationCode: { authorizationUrl: `${platform.issuer}/auth`, tokenUrl: `${platform.issuer}/token` },
      },
    });
    expect(doc.paths['/billing/invoices'].get.security).toEqual(
      expect.arrayContaining([{ bearer: [] }, { 'development-provider': ['openid'] }]),
    );
    expect(doc.paths['/health/live'].get.security ?? []).toEqual([]);
    const init = await platform.request('GET', '/docs/swagger-ui-init.js');
    expect(init.body).toContain(`"clientId": "${DEV_CLI_CLIENT.clientId}"`);
    expect(init.body).toContain('"usePkceWithAuthorizationCodeGrant": true');
    // The token stays in the page's memory: with persistAuthorization Swagger UI would write it to localStorage.
    expect(init.body).not.toContain('persistAuthorization');
    expect((await platform.request('GET', '/docs/oauth2-redirect.html')).status).toBe(200);
  });

  it('the sign-in completes on the page origin: /oauth2-redirect.html (what Swagger UI at /docs computes) forwards code and state to /docs/oauth2-redirect.html, and the page may call the provider (CSP connect-src)', async () => {
    const forwarded = await fetch(`${platform.url}/oauth2-redirect.html?code=abc&state=xyz`, { redirect: 'manual' });
    expect(forwarded.status).toBe(302);
    expect(forwarded.headers.get('location')).toBe('/docs/oauth2-redirect.html?code=abc&state=xyz');
    const csp = (await platform.request('GET', '/docs')).headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`connect-src 'self' ${new URL(platform.issuer).origin};`);
    // The API's own answers still connect nowhere.
    expect((await platform.request('GET', '/health/live')).headers.get('content-security-policy')).not.toContain(
      new URL(platform.issuer).origin,
    );
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
    const response = await fetch(`${platform.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: DEV_CLI_CLIENT.clientId }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('both browser clients (console, OpenAPI page) get CORS from http: loopback origins only, not https: nor elsewhere', async () => {
    const port = new URL(platform.url).port;
    const grant = async (clientId: string, origin: string) =>
      (
        await fetch(`${platform.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
          body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: clientId }),
        })
      ).headers.get('access-control-allow-origin');
    for (const clientId of [DEV_CONSOLE_CLIENT.clientId, DEV_CLI_CLIENT.clientId]) {
      for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`])
        expect(await grant(clientId, origin)).toBe(origin);
      for (const origin of [`https://127.0.0.1:${port}`, `https://localhost:${port}`, 'http://localhost.evil.example'])
        expect(await grant(clientId, origin)).toBeNull();
    }
  });
});

/** Chromium as root, headless, with nothing reaching out to the network (the machine's network is closed). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Bounds a wait (CI runs every suite at once on two cores); times nothing. */
const WAIT_MS = 30_000;

describe.runIf(existsSync(CHROMIUM_PATH))(
  'the OpenAPI page in a real browser (Chromium)',
  { timeout: 4 * WAIT_MS },
  () => {
    let platform: TestPlatform;
    let browser: Browser;
    beforeAll(async () => {
      platform = await TestPlatform.start();
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    });
    afterAll(async () => {
      await browser?.close();
      await platform?.close();
    });

    it('Authorize signs bob in through the provider popup; the page then holds a token that the API accepts', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      // localhost, not 127.0.0.1: the page's origin differs from the provider's, as in a real set-up.
      await page.goto(`http://localhost:${new URL(platform.url).port}/docs`);
      await page.locator('.btn.authorize').first().click();
      const popupOpened = context.waitForEvent('page');
      // The second scheme of the dialog is the development provider's (the first is the bearer field).
      await page.locator('.auth-container .btn.modal-btn.auth.authorize').last().click();
      const popup = await popupOpened;
      const popupErrors: string[] = [];
      popup.on('pageerror', (err) => popupErrors.push(err.message));
      const popupClosed = popup.waitForEvent('close', { timeout: WAIT_MS });
      await popup.locator('a[href*="user=bob"]').click();
      // The callback hands the code to the page (window.opener), which redeems it and closes the popup.
      await popupClosed;
      await expect
        .poll(
          () =>
            page.evaluate(
              () =>
                (
                  globalThis as unknown as {
                    ui: {
                      authSelectors: {
                        authorized(): { toJS(): Record<string, { token?: { access_token?: string } }> };
                      };
                    };
                  }
                ).ui.authSelectors
                  .authorized()
                  .toJS()['development-provider']?.token?.access_token ?? '',
            ),
          { timeout: WAIT_MS },
        )
        .not.toBe('');
      const accessToken = await page.evaluate(
        () =>
          (
            globalThis as unknown as {
              ui: {
                authSelectors: { authorized(): { toJS(): Record<string, { token?: { access_token?: string } }> } };
              };
            }
          ).ui.authSelectors
            .authorized()
            .toJS()['development-provider']?.token?.access_token ?? '',
      );
      expect((await platform.request('GET', '/billing/invoices', { token: accessToken })).status).toBe(200);
      // Nothing kept in web storage (persistAuthorization is off).
      expect(
        await page.evaluate(() =>
          JSON.stringify((globalThis as unknown as { localStorage: object }).localStorage).includes('eyJ'),
        ),
      ).toBe(false);
      expect([...errors, ...popupErrors]).toEqual([]);
      await context.close();
    });
  },
);
