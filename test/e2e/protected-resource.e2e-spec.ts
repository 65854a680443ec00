import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../support/test-platform';

/**
 * RFC 9728 protected resource metadata (issue 16 item 8): the document names the resource, the
 * trusted issuer, the scopes and the bearer methods (incl. DPoP), and every 401 challenge points
 * at it with `resource_metadata`, so a standard OAuth client finds where to get a token.
 */
describe('protected resource metadata (RFC 9728)', () => {
  let platform: TestPlatform;
  const ORIGIN = 'https://api.platform.test';
  const METADATA_URL = `${ORIGIN}/.well-known/oauth-protected-resource`;

  beforeAll(async () => {
    platform = await TestPlatform.start({ PUBLIC_ORIGIN: ORIGIN });
  });
  afterAll(() => platform?.close());

  it('publishes the resource, the issuer, the scopes and the bearer methods, without a token', async () => {
    const response = await platform.request('GET', '/.well-known/oauth-protected-resource');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.body).toMatchObject({
      resource: ORIGIN,
      authorization_servers: [platform.running.config.oidc.issuer],
      bearer_methods_supported: ['header'],
      dpop_bound_access_tokens_required: false,
    });
    expect(response.body.scopes_supported).toEqual(
      expect.arrayContaining(['analytics:events:write', 'analytics:usage:read', 'billing:invoices:read']),
    );
    expect(response.body.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'EdDSA']));
    // RFC 9728 section 3.2: the issuer it names serves OAuth/OIDC metadata.
    const discovery = await fetch(`${response.body.authorization_servers[0]}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
  });

  it.each([
    ['no token', {}, 2],
    ['a malformed token', { authorization: 'Bearer not-a-jwt' }, 1],
    ['a DPoP scheme with a garbage token', { authorization: 'DPoP not-a-jwt' }, 1],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 2],
  ])('401 for %s: each challenge carries resource_metadata', async (_name, headers, challenges) => {
    const response = await platform.request('GET', '/billing/invoices', { headers });
    expect(response.status).toBe(401);
    const header = response.headers.get('www-authenticate') as string;
    expect(header.match(/resource_metadata="([^"]+)"/g)).toHaveLength(challenges);
    expect(header).toContain(`resource_metadata="${METADATA_URL}"`);
    expect(header).toMatch(/^(Bearer|DPoP) /);
  });

  it('a 403 is not a challenge to get another token: no resource_metadata', async () => {
    const token = await platform.userToken('carol');
    const response = await platform.request('POST', '/billing/invoices', {
      token,
      body: { customer: 'c', lines: [{ description: 'x', quantity: 1, unitPriceCents: 1 }] },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate') ?? '').not.toContain('resource_metadata');
  });
});
