import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../support/test-platform';

/**
 * Response security headers and CORS (issue 13, "Why" 6): nosniff everywhere, no-store on
 * credentialed answers (the one-time clientSecret above all), HSTS behind https, CSP and frame
 * protection for the API and for Swagger UI (which must still load), and a CORS allow-list.
 */
describe('security headers', () => {
  let platform: TestPlatform;
  const ALLOWED = 'https://app.example.com';

  beforeAll(async () => {
    platform = await TestPlatform.start({
      CORS_ALLOWED_ORIGINS: `${ALLOWED},http://localhost:5173`,
      TRUST_PROXY: '127.0.0.1',
    });
  });
  afterAll(() => platform?.close());

  it('every answer (200, 401, 404, 400 from the body parser, a malformed URL) carries nosniff, frame protection and a CSP', async () => {
    const token = await platform.userToken('bob');
    const answers = [
      await platform.request('GET', '/billing/invoices', { token }),
      await platform.request('GET', '/billing/invoices'),
      await platform.request('GET', '/no/such/route'),
      await platform.request('POST', '/billing/invoices', {
        token,
        rawBody: '{',
        headers: { 'content-type': 'application/json' },
      }),
      await platform.request('GET', '/health/live'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 401, 404, 400, 200]);
    for (const answer of answers) {
      expect(answer.headers.get('x-content-type-options'), `${answer.status}`).toBe('nosniff');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(answer.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(answer.headers.get('cache-control')).toBe('no-store');
      // Plain http and no https PUBLIC_ORIGIN: no HSTS (it would pin development hosts to https).
      expect(answer.headers.get('strict-transport-security')).toBeNull();
    }
    const malformed = await fetch(`${platform.url}/billing/%E0%A4%A`);
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('HSTS when the request came over TLS through a trusted proxy (X-Forwarded-Proto: https), not over plain http', async () => {
    const tls = await platform.request('GET', '/health/live', { headers: { 'x-forwarded-proto': 'https' } });
    expect(tls.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect((await platform.request('GET', '/health/live')).headers.get('strict-transport-security')).toBeNull();
  });

  it('the one-time clientSecret of POST /service-accounts is never cacheable', async () => {
    const alice = await platform.userToken('alice');
    const created = await platform.request('POST', '/service-accounts', {
      token: alice,
      body: { name: 'Headers check', scopes: ['analytics:events:write'] },
    });
    expect(created.status).toBe(201);
    expect(created.body.clientSecret).toEqual(expect.any(String));
    expect(created.headers.get('cache-control')).toBe('no-store');
    // Every credentialed answer is no-store, whatever the route (here, the metrics scrape).
    const metrics = await platform.request('GET', '/metrics', { token: await platform.clientToken('metrics-scraper') });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('cache-control')).toBe('no-store');
  });

  it('Swagger UI at /docs has its own CSP (same-origin scripts, no framing) and still loads: every script and stylesheet it names is served', async () => {
    const page = await fetch(`${platform.url}/docs`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    // script-src 'self' allows no inline script: every <script> must name a file.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="/);
      expect(body.trim()).toBe('');
    }
    const assets = [...html.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      // Relative to the page, as a browser resolves it.
      const url = new URL(asset, `${platform.url}/docs`);
      // Same origin: allowed by 'self'.
      expect(url.origin).toBe(platform.url);
      const response = await fetch(url);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('content-type'), asset).toMatch(asset.endsWith('.js') ? /javascript/ : /css/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      await response.arrayBuffer();
    }
    // The init script loads the OpenAPI document from this origin (connect-src 'self').
    const init = await (await fetch(`${platform.url}/docs/swagger-ui-init.js`)).text();
    expect(init).toContain('"openapi"');
    expect((await fetch(`${platform.url}/docs/openapi.json`)).status).toBe(200);
  });

  it('CORS: an allowed origin gets its preflight answered and its responses readable; any other origin is refused', async () => {
    const preflight = await fetch(`${platform.url}/billing/invoices`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    expect(preflight.headers.get('access-control-max-age')).toBe('600');

    const token = await platform.userToken('bob');
    const read = await platform.request('GET', '/billing/invoices', { token, headers: { origin: ALLOWED } });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(read.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('x-request-id');
    expect(read.headers.get('vary')?.toLowerCase()).toContain('origin');

    for (const origin of [
      'https://evil.example',
      'https://app.example.com.evil.example',
      'http://app.example.com',
      'null',
    ]) {
      const refused = await fetch(`${platform.url}/billing/invoices`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      expect(refused.status, origin).toBe(403);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      const body = await refused.json();
      expect(body).toMatchObject({ status: 403, reason: 'cors_origin_not_allowed' });
      expect(await platform.auditCount(refused.headers.get('x-request-id') as string)).toBe(1);
      const simple = await platform.request('GET', '/billing/invoices', { token, headers: { origin } });
      expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});

describe('security headers with an https PUBLIC_ORIGIN and no CORS origins (the default)', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await TestPlatform.start({ PUBLIC_ORIGIN: 'https://api.example.com' });
  });
  afterAll(() => platform?.close());

  it('sends HSTS on every answer, and refuses every preflight', async () => {
    for (const path of ['/health/live', '/billing/invoices', '/docs']) {
      const response = await fetch(`${platform.url}${path}`);
      expect(response.headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains');
      await response.arrayBuffer();
    }
    const preflight = await fetch(`${platform.url}/health/live`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    await preflight.arrayBuffer();
  });
});
