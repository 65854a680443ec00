import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '@platform/auth/testing';
import { RedisService } from '@platform/redis';
import { calculateJwkThumbprint } from 'jose';
import { createDpopProof, generateDpopKey } from '@platform/dev-idp';
import { TcpProxy } from '../support/tcp-proxy';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform, type TestResponse } from '../support/test-platform';

/** A rate-limit file with small budgets, for one suite. */
function limitsFile(yaml: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'rate-limits-')), 'rate-limits.yaml');
  writeFileSync(file, yaml);
  return file;
}

const SMALL = limitsFile(`
windowSeconds: 60
defaults: { user: 5, service: 5, agent: 3, anonymous: 4 }
apps:
  user-management: { user: 50 }
`);

/** Sends `count` requests one after the other; returns the statuses. */
async function statuses(count: number, send: () => Promise<TestResponse>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await send()).status);
  return out;
}

describe('rate limits per principal (one instance, counters in memory)', () => {
  let platform: TestPlatform;
  let carol: string;

  beforeAll(async () => {
    platform = await TestPlatform.start({ RATE_LIMITS_FILE: SMALL });
    carol = await platform.userToken('carol');
  });
  afterAll(() => platform?.close());

  it('a person gets her budget per app, then 429 with Retry-After and RateLimit headers; the refusal is audited and counted', async () => {
    const first = await platform.request('GET', '/analytics/events/counts', { token: carol });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"analytics.user";q=5;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"analytics\.user";r=4;t=\d+$/);
    expect(await statuses(4, () => platform.request('GET', '/analytics/events/counts', { token: carol }))).toEqual([
      200, 200, 200, 200,
    ]);

    const limited = await platform.request('GET', '/analytics/events/counts', { token: carol });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(limited.body).toMatchObject({ status: 429, reason: 'rate_limited' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(limited.headers.get('ratelimit')).toBe(`"analytics.user";r=0;t=${retryAfter}`);
    expect(await platform.auditOf(limited.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'rate_limited',
      subject: 'carol',
      status: 429,
      details: { budget: 'analytics.user', limit: 5, windowSeconds: 60, shared: false },
    });

    // Another app has its own budget; another person has her own.
    expect((await platform.request('GET', '/users/me', { token: carol })).status).toBe(200);
    expect(
      (await platform.request('GET', '/analytics/events/counts', { token: await platform.userToken('alice') })).status,
    ).toBe(200);

    const metrics = await platform.request('GET', '/metrics', { token: await platform.clientToken('metrics-scraper') });
    expect(metrics.body).toMatch(/platform_rate_limited_total\{app="analytics",principal_type="user"\} [1-9]/);
  });

  it('an agent acting for a person spends the agent budget, apart from the person\u2019s own', async () => {
    const agent = await platform.delegatedToken('bob', 'assistant-bot');
    const bob = await platform.userToken('bob');
    expect(await statuses(4, () => platform.request('GET', '/analytics/usage', { token: agent }))).toEqual([
      403, 403, 403, 429,
    ]);
    // bob's own budget is untouched by what the agent did for him.
    const own = await platform.request('GET', '/billing/invoices', { token: bob });
    expect(own.status).toBe(200);
    expect(own.headers.get('ratelimit')).toMatch(/^"billing\.user";r=4;/);
  });

  it('unauthenticated requests spend their address\u2019s budget: public routes and refused tokens alike; X-Forwarded-For is not believed', async () => {
    const spoofed = (i: number) => ({ headers: { 'x-forwarded-for': `203.0.113.${i}` } });
    let i = 0;
    const results = await statuses(5, () =>
      platform.request('GET', '/billing/invoices', { token: 'not.a.token', ...spoofed(i++) }),
    );
    expect(results).toEqual([401, 401, 401, 401, 429]);
    const limited = await platform.request('GET', '/billing/invoices', { ...spoofed(99) });
    expect(limited.status).toBe(429);
    expect(await platform.auditOf(limited.requestId)).toMatchObject({
      reason: 'rate_limited',
      clientIp: '127.0.0.1',
      details: { budget: 'billing.anonymous', refusedFirstAs: 'missing_token' },
    });

    // Public routes count apart from refused tokens: the junk above does not block the payment
    // provider's webhook from this address (400 for its missing signature, not 429) ...
    const webhook = await platform.request('POST', '/billing/webhooks/payments', { body: { id: 'evt_x' } });
    expect(webhook.status).toBe(400);
    expect(webhook.headers.get('ratelimit')).toMatch(/^"billing\.anonymous";r=3;/);
    // ... and the orchestrator's probes are never limited.
    expect(await statuses(10, () => platform.request('GET', '/health/live'))).toEqual(Array(10).fill(200));
  });
});

describe('changing the budgets', () => {
  it('an edited rate-limit file applies without a restart; an invalid edit is refused and the budgets stay', async () => {
    const file = limitsFile('windowSeconds: 60\ndefaults: { user: 2, service: 2, agent: 2, anonymous: 100 }\n');
    const platform = await TestPlatform.start({ RATE_LIMITS_FILE: file });
    try {
      const carol = await platform.userToken('carol');
      const reload = () =>
        new Promise<boolean>((resolve) => {
          const off = platform.running.app.get(RateLimiter).onReload((applied) => {
            off();
            resolve(applied);
          });
        });
      expect(await statuses(3, () => platform.request('GET', '/analytics/events/counts', { token: carol }))).toEqual([
        200, 200, 429,
      ]);
      let reloaded = reload();
      writeFileSync(file, 'windowSeconds: 60\ndefaults: { user: 10, service: 2, agent: 2, anonymous: 100 }\n');
      expect(await reloaded).toBe(true);
      const after = await platform.request('GET', '/analytics/events/counts', { token: carol });
      expect(after.status).toBe(200);
      expect(after.headers.get('ratelimit-policy')).toBe('"analytics.user";q=10;w=60');
      reloaded = reload();
      writeFileSync(file, 'windowSeconds: 60\ndefaults: { user: nope }\n');
      expect(await reloaded).toBe(false);
      expect(
        (await platform.request('GET', '/analytics/events/counts', { token: carol })).headers.get('ratelimit-policy'),
      ).toBe('"analytics.user";q=10;w=60');
    } finally {
      await platform.close();
    }
  });
});

describe('TRUST_PROXY', () => {
  it('with the proxy trusted, each forwarded client address has its own anonymous budget', async () => {
    const platform = await TestPlatform.start({ RATE_LIMITS_FILE: SMALL, TRUST_PROXY: '127.0.0.1' });
    try {
      const from = (ip: string) => platform.request('GET', '/billing/invoices', { headers: { 'x-forwarded-for': ip } });
      expect(await statuses(5, () => from('198.51.100.1'))).toEqual([401, 401, 401, 401, 429]);
      const other = await from('198.51.100.2');
      expect(other.status).toBe(401);
      expect(await platform.auditOf(other.requestId)).toMatchObject({ clientIp: '198.51.100.2' });
    } finally {
      await platform.close();
    }
  });

  it('TRUST_PROXY as a hop count (1: the closest proxy) believes that hop: client address and forwarded scheme', async () => {
    const platform = await TestPlatform.start({ RATE_LIMITS_FILE: SMALL, TRUST_PROXY: '1' });
    try {
      const response = await platform.request('GET', '/billing/invoices', {
        headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' },
      });
      expect(response.status).toBe(401);
      expect(await platform.auditOf(response.requestId)).toMatchObject({ clientIp: '198.51.100.7' });
      // HSTS is sent only over HTTPS: the forwarded scheme was believed.
      expect(response.headers.get('strict-transport-security')).toContain('max-age=');
    } finally {
      await platform.close();
    }
  });

  it('TRUST_PROXY=true is refused: it would believe any client', async () => {
    await expect(TestPlatform.start({ TRUST_PROXY: 'true' })).rejects.toThrow(/TRUST_PROXY=true/);
  });
});

describe.runIf(process.env.TEST_REDIS_URL)('two instances sharing Redis', () => {
  const AUD = 'urn:rate-limit-test';
  let issuer: TestIssuer;
  let proxy: TcpProxy;
  let a: TestPlatform;
  let b: TestPlatform;
  const token = (sub: string, extra: Record<string, unknown> = {}) =>
    issuer.sign({ aud: AUD, sub, tenant: 'acme', roles: ['analyst'], ...extra });
  const counts = (platform: TestPlatform, bearer: string) =>
    platform.request('GET', '/analytics/events/counts', { token: bearer });

  beforeAll(async () => {
    const redis = new URL(process.env.TEST_REDIS_URL as string);
    proxy = await TcpProxy.start({ host: redis.hostname, port: Number(redis.port || 6379) });
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    const env = {
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      RATE_LIMITS_FILE: limitsFile('windowSeconds: 60\ndefaults: { user: 6, service: 6, agent: 6, anonymous: 1000 }\n'),
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      // A fresh key space per run: nothing counted by an earlier run (or another suite) is shared.
      REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}:`,
      // Both instances behind one public address, as behind a load balancer.
      PUBLIC_ORIGIN: 'https://api.example.test',
    };
    a = await TestPlatform.start(env);
    b = await TestPlatform.start(env);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await issuer?.close();
    await proxy?.close();
  });

  it('share one budget: six requests spread over both, the seventh is refused on either', async () => {
    const dan = token('dan');
    const spread = [a, b, a, b, a, b];
    const results: number[] = [];
    for (const platform of spread) results.push((await counts(platform, dan)).status);
    expect(results).toEqual([200, 200, 200, 200, 200, 200]);
    const refusedA = await counts(a, dan);
    const refusedB = await counts(b, dan);
    expect([refusedA.status, refusedB.status]).toEqual([429, 429]);
    expect(await b.auditOf(refusedB.requestId)).toMatchObject({ reason: 'rate_limited', details: { shared: true } });
  });

  it('a DPoP proof accepted by one instance is refused as a replay by the other', async () => {
    const key = await generateDpopKey();
    const bound = token('erin', { cnf: { jkt: await calculateJwkThumbprint(key.publicJwk, 'sha256') } });
    const proof = await createDpopProof(key, 'GET', 'https://api.example.test/analytics/events/counts', bound);
    const send = (platform: TestPlatform) =>
      platform.request('GET', '/analytics/events/counts', { token: bound, scheme: 'DPoP', headers: { dpop: proof } });
    expect((await send(a)).status).toBe(200);
    const replayed = await send(b);
    expect(replayed.status).toBe(401);
    expect(await b.auditOf(replayed.requestId)).toMatchObject({
      reason: 'invalid_dpop_proof',
      details: { problem: 'replayed' },
    });
  });

  it('with Redis unreachable, no request fails: each instance limits from its own memory, then sharing resumes', async () => {
    proxy.cut();
    const fay = token('fay');
    // Each instance now counts alone: six on A and six on B pass, the seventh on A is refused.
    const onA = await statuses(7, () => counts(a, fay));
    const onB = await statuses(6, () => counts(b, fay));
    expect(onA).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect(onB).toEqual([200, 200, 200, 200, 200, 200]);
    const limited = await counts(a, fay);
    expect(await a.auditOf(limited.requestId)).toMatchObject({ reason: 'rate_limited', details: { shared: false } });
    const metrics = await a.request('GET', '/metrics', {
      token: issuer.sign({ aud: AUD, sub: 'scraper', client_id: 'scraper', scope: 'platform:metrics:read' }),
    });
    expect(metrics.body).toMatch(/platform_redis_up 0/);
    expect(metrics.body).toMatch(/platform_shared_state_fallbacks_total\{operation="rate_limit"\} [1-9]/);
    // Logged once per instance, however many requests fell back (Nest's logger is process-wide here, so both logs are read).
    const logs = () => [...a.logLines(), ...b.logLines()].map((l) => String(l.msg));
    expect(logs().filter((msg) => msg.startsWith('Redis is unreachable')).length).toBe(2);

    const back = Promise.all(
      [a, b].map((p) => new Promise((resolve) => p.running.app.get(RedisService).client?.once('ready', resolve))),
    );
    proxy.restore();
    await back;
    const gus = token('gus');
    expect(await statuses(6, () => counts(b, gus))).toEqual([200, 200, 200, 200, 200, 200]);
    expect((await counts(a, gus)).status).toBe(429);
    expect(logs().filter((msg) => msg.startsWith('Redis is reachable again')).length).toBe(2);
  });

  it('with Redis hanging (connections open, no answers), requests are still answered, from memory', async () => {
    const fallbacks = async () =>
      Number(
        /platform_shared_state_fallbacks_total\{operation="rate_limit"\} (\d+)/.exec(
          (
            await a.request('GET', '/metrics', {
              token: issuer.sign({ aud: AUD, sub: 'scraper', client_id: 'scraper', scope: 'platform:metrics:read' }),
            })
          ).body,
        )?.[1] ?? 0,
      );
    const before = await fallbacks();
    proxy.stall();
    const hal = token('hal');
    // The first waits for the command timeout; then the connection is renewed and never gets ready: no more waiting.
    expect(await statuses(7, () => counts(a, hal))).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect(await fallbacks()).toBeGreaterThanOrEqual(before + 7);
    expect(a.running.app.get(RedisService).available).toBe(false);
    const back = new Promise((resolve) => a.running.app.get(RedisService).client?.once('ready', resolve));
    proxy.restore();
    await back;
    expect((await counts(a, token('ivy'))).status).toBe(200);
  });
});
