import { request as httpRequest } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientCredentialsToken,
  createDpopProof,
  DEV_MACHINE_CLIENTS,
  generateDpopKey,
  type DpopKey,
} from '@platform/dev-idp';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform } from '../support/test-platform';

const INGEST = DEV_MACHINE_CLIENTS.find((c) => c.clientId === 'ingest-bot') as {
  clientId: string;
  clientSecret: string;
};
const events = { events: [{ name: 'dpop', timestamp: '2026-11-30T10:00:00Z' }] };
const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

describe('sender-constrained tokens (DPoP, RFC 9449)', () => {
  let platform: TestPlatform;
  let key: DpopKey;
  let token: string;

  /** A request with `Authorization: DPoP` and, unless `proof` is null, a proof (fresh unless given). */
  const send = async (
    method: string,
    path: string,
    options: { proof?: string | null; scheme?: 'Bearer' | 'DPoP'; body?: unknown; as?: string } = {},
  ) => {
    const proof =
      options.proof === undefined
        ? await createDpopProof(key, method, `${platform.url}${path}`, options.as ?? token)
        : options.proof;
    return platform.request(method, path, {
      token: options.as ?? token,
      scheme: options.scheme ?? 'DPoP',
      body: options.body,
      headers: proof === null ? {} : { dpop: proof },
    });
  };

  beforeAll(async () => {
    platform = await TestPlatform.start();
    key = await generateDpopKey();
    token = await clientCredentialsToken(
      platform.issuer,
      { ...INGEST, scopes: ['analytics:events:write'] },
      platform.audience,
      { dpop: key },
    );
  });
  afterAll(() => platform?.close());

  it('the development provider binds the token to the key of the proof sent with the token request (cnf.jkt)', () => {
    expect(claims(token).cnf).toEqual({ jkt: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  });

  it('a bound token works with a fresh proof, and the audit record says it was DPoP-bound', async () => {
    const accepted = await send('POST', '/analytics/events', { body: events });
    expect(accepted.status).toBe(202);
    expect(await platform.auditOf(accepted.requestId)).toMatchObject({
      decision: 'allow',
      clientId: 'ingest-bot',
      dpopBound: true,
    });
    // The query string is not part of htu.
    const reader = await generateDpopKey();
    const readerToken = await clientCredentialsToken(
      platform.issuer,
      { ...INGEST, scopes: ['analytics:events:write'] },
      platform.audience,
      { dpop: reader },
    );
    const proof = await createDpopProof(reader, 'POST', `${platform.url}/analytics/events`, readerToken);
    expect(
      (
        await platform.request('POST', '/analytics/events?source=nightly', {
          token: readerToken,
          scheme: 'DPoP',
          headers: { dpop: proof },
          body: events,
        })
      ).status,
    ).toBe(202);
    const metrics = await platform.request('GET', '/metrics', { token: await platform.clientToken('metrics-scraper') });
    expect(metrics.body).toMatch(
      /platform_requests_by_principal_total\{app="analytics",principal_type="service",token_binding="dpop",decision="allow"\} [1-9]/,
    );
  });

  it.each([
    ['no proof', async () => null, 'missing'],
    [
      'a proof for another URL',
      () => createDpopProof(key, 'POST', `${platform.url}/analytics/other`, token),
      'htu_mismatch',
    ],
    [
      'a proof for another method',
      () => createDpopProof(key, 'GET', `${platform.url}/analytics/events`, token),
      'htm_mismatch',
    ],
    [
      'a proof for another host',
      () => createDpopProof(key, 'POST', 'https://api.example.com/analytics/events', token),
      'htu_mismatch',
    ],
    [
      'a proof signed by another key',
      async () => createDpopProof(await generateDpopKey(), 'POST', `${platform.url}/analytics/events`, token),
      'key_mismatch',
    ],
    [
      'a proof for another access token',
      () => createDpopProof(key, 'POST', `${platform.url}/analytics/events`, 'another-token'),
      'ath_mismatch',
    ],
    ['a proof without ath', () => createDpopProof(key, 'POST', `${platform.url}/analytics/events`), 'ath_mismatch'],
    [
      'a proof older than the window',
      () =>
        createDpopProof(key, 'POST', `${platform.url}/analytics/events`, token, {
          iat: Math.floor(Date.now() / 1000) - 300,
        }),
      'too_old',
    ],
    [
      'a proof from the future',
      () =>
        createDpopProof(key, 'POST', `${platform.url}/analytics/events`, token, {
          iat: Math.floor(Date.now() / 1000) + 300,
        }),
      'iat_in_future',
    ],
    ['a proof that is not a JWT', async () => 'not-a-proof', 'malformed'],
    [
      'a proof whose jwk header is a private key',
      async () => {
        const key = await generateDpopKey();
        const privateJwk = (key.privateKey as KeyObject).export({ format: 'jwk' }) as JWK;
        return createDpopProof({ ...key, publicJwk: privateJwk }, 'POST', `${platform.url}/analytics/events`, token);
      },
      'malformed',
    ],
    [
      'a proof signed with a symmetric key',
      () =>
        new SignJWT({
          jti: 'x'.repeat(16),
          htm: 'POST',
          htu: `${platform.url}/analytics/events`,
          iat: Math.floor(Date.now() / 1000),
        })
          .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt' })
          .sign(new TextEncoder().encode('k'.repeat(32))),
      'alg_not_allowed',
    ],
  ])('fails with %s: 401 invalid_dpop_proof and a DPoP challenge', async (_label, proofOf, problem) => {
    const refused = await send('POST', '/analytics/events', { proof: await proofOf(), body: events });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ reason: 'invalid_dpop_proof' });
    expect(refused.headers.get('www-authenticate')).toMatch(
      /^DPoP algs="[^"]+", error="invalid_dpop_proof", error_description="/,
    );
    expect(await platform.auditOf(refused.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'invalid_dpop_proof',
      details: { problem },
      dpopBound: true,
    });
  });

  it('fails with a replayed proof', async () => {
    const proof = await createDpopProof(key, 'POST', `${platform.url}/analytics/events`, token);
    expect((await send('POST', '/analytics/events', { proof, body: events })).status).toBe(202);
    const replayed = await send('POST', '/analytics/events', { proof, body: events });
    expect(replayed.status).toBe(401);
    expect(await platform.auditOf(replayed.requestId)).toMatchObject({
      reason: 'invalid_dpop_proof',
      details: { problem: 'replayed' },
    });
  });

  it('fails as a plain Bearer token, even with a valid proof', async () => {
    const refused = await send('POST', '/analytics/events', { scheme: 'Bearer', body: events });
    expect(refused.status).toBe(401);
    expect(refused.body.reason).toBe('dpop_proof_required');
    expect(refused.headers.get('www-authenticate')).toMatch(/^DPoP algs="[^"]+", error="invalid_token"/);
  });

  it('the DPoP scheme with an unbound token is refused, never downgraded', async () => {
    const bearer = await platform.clientToken('ingest-bot');
    const refused = await send('POST', '/analytics/events', { as: bearer, body: events });
    expect(refused.status).toBe(401);
    expect(refused.body.reason).toBe('dpop_token_not_bound');
  });
});

describe('DPoP required for machines (per app, per route)', () => {
  it('DPOP_REQUIRED_FOR_MACHINES=analytics refuses machine and agent bearer tokens there, not people, not other apps', async () => {
    const platform = await TestPlatform.start({ DPOP_REQUIRED_FOR_MACHINES: 'analytics' });
    try {
      const bearer = await platform.clientToken('ingest-bot');
      const refused = await platform.request('POST', '/analytics/events', { token: bearer, body: events });
      expect(refused.status).toBe(401);
      expect(refused.body.reason).toBe('dpop_required');
      expect(refused.headers.get('www-authenticate')).toMatch(/^DPoP algs=/);
      const agent = await platform.request('GET', '/analytics/events/counts', {
        token: await platform.delegatedToken('carol', 'assistant-bot'),
      });
      expect(agent.body.reason).toBe('dpop_required');
      // A person's bearer token is fine; the machine elsewhere too.
      expect(
        (await platform.request('GET', '/analytics/events/counts', { token: await platform.userToken('carol') }))
          .status,
      ).toBe(200);
      expect((await platform.request('GET', '/billing/invoices', { token: bearer })).body.reason).toBe(
        'scope_not_granted',
      );

      const key = await generateDpopKey();
      const bound = await clientCredentialsToken(
        platform.issuer,
        { ...INGEST, scopes: ['analytics:events:write'] },
        platform.audience,
        { dpop: key },
      );
      const proof = await createDpopProof(key, 'POST', `${platform.url}/analytics/events`, bound);
      expect(
        (
          await platform.request('POST', '/analytics/events', {
            token: bound,
            scheme: 'DPoP',
            headers: { dpop: proof },
            body: events,
          })
        ).status,
      ).toBe(202);
    } finally {
      await platform.close();
    }
  });
});

describe('DPoP and delegation edge cases (a test issuer, PUBLIC_ORIGIN set)', () => {
  const AUD = 'urn:dpop-edge';
  const ORIGIN = 'https://api.example.test';
  let issuer: TestIssuer;
  let platform: TestPlatform;
  let key: DpopKey;
  let jkt: string;

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    platform = await TestPlatform.start({
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      PUBLIC_ORIGIN: ORIGIN,
      SERVICE_ACCOUNTS_REQUIRED: 'false',
      DELEGATION_MAX_DEPTH: '0',
    });
    key = await generateDpopKey();
    jkt = await calculateJwkThumbprint(key.publicJwk, 'sha256');
  });
  afterAll(async () => {
    await platform?.close();
    await issuer?.close();
  });

  const machine = (claims: Record<string, unknown> = {}) =>
    issuer.sign({
      aud: AUD,
      sub: 'bot',
      client_id: 'bot',
      tenant: 'acme',
      scope: 'analytics:events:read',
      cnf: { jkt },
      ...claims,
    });

  it('htu must name PUBLIC_ORIGIN, not whatever host the request came to', async () => {
    const token = machine();
    const local = await platform.request('GET', '/analytics/events/counts', {
      token,
      scheme: 'DPoP',
      headers: { dpop: await createDpopProof(key, 'GET', `${platform.url}/analytics/events/counts`, token) },
    });
    expect(local.status).toBe(401);
    expect(await platform.auditOf(local.requestId)).toMatchObject({ details: { problem: 'htu_mismatch' } });
    const proper = await platform.request('GET', '/analytics/events/counts', {
      token,
      scheme: 'DPoP',
      headers: { dpop: await createDpopProof(key, 'GET', `${ORIGIN}/analytics/events/counts`, token) },
    });
    expect(proper.status).toBe(200);
  });

  it('a DPoP request lacking a scope is told so in a DPoP challenge', async () => {
    const token = machine();
    const refused = await platform.request('POST', '/analytics/events', {
      token,
      scheme: 'DPoP',
      body: events,
      headers: { dpop: await createDpopProof(key, 'POST', `${ORIGIN}/analytics/events`, token) },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBe(
      'DPoP algs="ES256 ES384 PS256 RS256 EdDSA", error="insufficient_scope", scope="analytics:events:write"',
    );
  });

  it('two DPoP headers, or two Authorization headers, are refused rather than one of them picked', async () => {
    const token = machine();
    const proofA = await createDpopProof(key, 'GET', `${ORIGIN}/analytics/events/counts`, token);
    const proofB = await createDpopProof(key, 'GET', `${ORIGIN}/analytics/events/counts`, token);
    const twoProofs = await rawGet(platform.url, '/analytics/events/counts', {
      authorization: `DPoP ${token}`,
      dpop: [proofA, proofB],
    });
    expect(twoProofs.status).toBe(401);
    expect(await platform.auditOf(twoProofs.requestId)).toMatchObject({
      reason: 'invalid_dpop_proof',
      details: { problem: 'several_proofs' },
    });
    const twoTokens = await rawGet(platform.url, '/analytics/events/counts', {
      authorization: [`DPoP ${token}`, `Bearer ${issuer.sign({ aud: AUD, sub: 'someone' })}`],
      dpop: proofA,
    });
    expect(twoTokens.status).toBe(401);
    expect(await platform.auditOf(twoTokens.requestId)).toMatchObject({ reason: 'malformed_authorization' });
  });

  it('DELEGATION_MAX_DEPTH=0 refuses a token with act whatever its type, a machine\u2019s too', async () => {
    const token = issuer.sign({
      aud: AUD,
      sub: 'bot',
      client_id: 'bot',
      gty: 'client-credentials',
      tenant: 'acme',
      scope: 'analytics:events:read',
      act: { sub: 'upstream' },
    });
    const refused = await platform.request('GET', '/analytics/events/counts', { token });
    expect(refused.body).toMatchObject({ status: 403, reason: 'delegation_too_deep' });
  });
});

describe('DPOP_REQUIRED_FOR_MACHINES is checked at start-up', () => {
  it('an unknown app name stops the start instead of silently requiring DPoP nowhere', async () => {
    await expect(TestPlatform.start({ DPOP_REQUIRED_FOR_MACHINES: 'billng' })).rejects.toThrow(
      /DPOP_REQUIRED_FOR_MACHINES names unknown apps: billng/,
    );
  });
});

/** A GET with repeated headers (fetch would join them into one). */
function rawGet(
  base: string,
  pathname: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${pathname}`, { method: 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']) }));
    });
    req.on('error', reject);
    req.end();
  });
}
