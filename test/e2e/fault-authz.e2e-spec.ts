import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisService } from '@platform/redis';
import { TcpProxy } from '../support/tcp-proxy';
import { TestIssuer } from '../support/test-issuer';
import { TestPlatform, type TestResponse } from '../support/test-platform';

/**
 * Authorization under faults and in every role (issue 13, parts 7, 8, 9): deactivation of the
 * actors of a delegation chain, the default token lifetime cap, the audit record's decision kept
 * apart from the request's outcome, and rate-limit budgets split between instances while Redis is
 * cut or hangs, under concurrent load.
 */

const now = () => Math.floor(Date.now() / 1000);

/** Sends `count` requests one after the other; returns the statuses. */
async function statuses(count: number, send: () => Promise<TestResponse>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await send()).status);
  return out;
}

describe('deactivation covers every role a token names (development provider, RFC 8693 token exchange)', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await TestPlatform.start();
  });
  afterAll(() => platform?.close());

  it('deactivating the agent\u2019s user refuses its own token and every delegated token naming it in act: 403 principal_deactivated, audited; reactivating restores both', async () => {
    const alice = await platform.userToken('alice');
    const own = await platform.clientToken('assistant-bot');
    const forCarol = await platform.delegatedToken('carol', 'assistant-bot');
    const forBob = await platform.delegatedToken('bob', 'assistant-bot');
    // The agent's own token makes it a user of acme (just-in-time provisioning): that entry is what an admin deactivates.
    const me = await platform.request('GET', '/users/me', { token: own });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ subject: 'assistant-bot' });
    expect((await platform.request('GET', '/analytics/events/counts', { token: forCarol })).status).toBe(200);

    const deactivated = await platform.request('POST', `/users/${me.body.id}/deactivate`, { token: alice });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.status).toBe('deactivated');

    const ownRefused = await platform.request('GET', '/analytics/events/counts', { token: own });
    expect(ownRefused.status).toBe(403);
    expect(ownRefused.body).toMatchObject({ status: 403, reason: 'principal_deactivated' });
    for (const token of [forCarol, forBob]) {
      const refused = await platform.request('GET', '/analytics/events/counts', { token });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body).toMatchObject({ status: 403, reason: 'principal_deactivated' });
      expect(refused.body.detail).toMatch(/agent acting in this token has been deactivated/);
      expect(await platform.auditOf(refused.requestId)).toMatchObject({
        decision: 'deny',
        reason: 'principal_deactivated',
        outcome: 'denied',
        status: 403,
        clientId: 'assistant-bot',
        actors: [{ subject: 'assistant-bot', clientId: 'assistant-bot' }],
        details: { deactivatedRole: 'actor', deactivated: 'assistant-bot' },
      });
    }
    // A token exchanged after the deactivation is refused as well; the people themselves are not.
    expect(
      (
        await platform.request('GET', '/analytics/events/counts', {
          token: await platform.delegatedToken('carol', 'assistant-bot'),
        })
      ).body.reason,
    ).toBe('principal_deactivated');
    expect(
      (await platform.request('GET', '/analytics/events/counts', { token: await platform.userToken('carol') })).status,
    ).toBe(200);
    // The explanation agrees with the guard.
    const explain = await platform.request(
      'GET',
      '/platform/authz/explain?subject=carol&roles=analyst&actor=assistant-bot&permission=analytics:events:read',
      { token: alice },
    );
    expect(explain.body).toMatchObject({ decision: 'deny', reason: 'principal_deactivated' });

    expect((await platform.request('POST', `/users/${me.body.id}/reactivate`, { token: alice })).status).toBe(200);
    expect((await platform.request('GET', '/analytics/events/counts', { token: forCarol })).status).toBe(200);
    expect((await platform.request('GET', '/analytics/events/counts', { token: own })).status).toBe(200);
  });

  it('a deactivated person stays refused whoever acts for her (subject role)', async () => {
    const alice = await platform.userToken('alice');
    const carolId = (await platform.request('GET', '/users/me', { token: await platform.userToken('carol') })).body
      .id as string;
    const agent = await platform.delegatedToken('carol', 'assistant-bot');
    expect((await platform.request('POST', `/users/${carolId}/deactivate`, { token: alice })).status).toBe(200);
    try {
      const refused = await platform.request('GET', '/analytics/events/counts', { token: agent });
      expect(refused.body).toMatchObject({ status: 403, reason: 'principal_deactivated' });
      const record = await platform.auditOf(refused.requestId);
      expect(record).toMatchObject({
        reason: 'principal_deactivated',
        subject: 'carol',
        actors: [{ subject: 'assistant-bot' }],
      });
      expect(record.details ?? {}).not.toHaveProperty('deactivatedRole');
    } finally {
      await platform.request('POST', `/users/${carolId}/reactivate`, { token: alice });
    }
  });
});

describe('token lifetime cap (default 24 h, OIDC_MAX_TOKEN_LIFETIME_SECONDS)', () => {
  const AUD = 'urn:lifetime-test';
  let issuer: TestIssuer;
  let platform: TestPlatform;
  const token = (claims: Record<string, unknown>) =>
    issuer.sign({ aud: AUD, sub: 'lena', tenant: 'acme', roles: ['analyst'], ...claims });
  const counts = (bearer: string) => platform.request('GET', '/analytics/events/counts', { token: bearer });

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    // No OIDC_MAX_TOKEN_LIFETIME_SECONDS: the default applies.
    platform = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD });
  });
  afterAll(async () => {
    await platform?.close();
    await issuer?.close();
  });

  it('accepts a token living exactly 24 h; refuses 24 h + 1 s (exp - iat), and a far exp without iat (exp - now): 401 lifetime_exceeded with evidence, audited', async () => {
    expect((await counts(token({ iat: now(), exp: now() + 86_400 }))).status).toBe(200);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['exp - iat over the cap', { iat: now(), exp: now() + 86_401 }],
      ['no iat, exp in ten years', { iat: undefined, exp: now() + 10 * 365 * 86_400 }],
      ['an old iat, exp far ahead', { iat: now() - 3600, exp: now() + 86_400 }],
    ];
    for (const [name, claims] of cases) {
      const refused = await counts(token(claims));
      expect(refused.status, name).toBe(401);
      expect(refused.body, name).toMatchObject({ status: 401, reason: 'lifetime_exceeded' });
      expect(refused.headers.get('www-authenticate'), name).toMatch(/^Bearer .*error="invalid_token"/);
      const record = await platform.auditOf(refused.requestId);
      expect(record, name).toMatchObject({
        decision: 'deny',
        reason: 'lifetime_exceeded',
        outcome: 'denied',
        status: 401,
        details: { maxSeconds: 86_400, exp: claims.exp },
      });
      expect((record.details as { lifetimeSeconds: number }).lifetimeSeconds, name).toBeGreaterThan(86_400);
    }
  });

  it('key material comes from the configured issuer only: jku, x5u and an embedded jwk are never followed (ASVS 9.1.3)', async () => {
    const attacker = await TestIssuer.start();
    try {
      // The attacker's key under the trusted kid, and again under its own kid, announced by every header that could name a key.
      attacker.addKey('k1');
      attacker.addKey('evil');
      const headers = (kid: string) => ({
        kid,
        jku: `${attacker.issuer}/jwks`,
        x5u: `${attacker.issuer}/cert.pem`,
        jwk: attacker.key(kid).publicJwk,
      });
      const claims = {
        iss: issuer.issuer,
        aud: AUD,
        sub: 'mallory',
        tenant: 'acme',
        roles: ['admin'],
        exp: now() + 300,
      };
      const sameKid = await counts(attacker.sign(claims, { kid: 'k1', header: headers('k1') }));
      expect(sameKid.body).toMatchObject({ status: 401, reason: 'invalid_signature' });
      const ownKid = await counts(attacker.sign(claims, { kid: 'evil', header: headers('evil') }));
      expect(ownKid.body).toMatchObject({ status: 401, reason: 'unknown_kid' });
      expect(attacker.jwksFetches).toBe(0);
    } finally {
      await attacker.close();
    }
  });

  it('the TRACE method is not served (ASVS 13.4.4): no echo of the request, a problem+json 404', async () => {
    // fetch refuses to send TRACE (a forbidden method), so plain node:http does.
    const trace = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${platform.url}/health/live`,
        { method: 'TRACE', headers: { 'x-secret-probe': 'echo-me' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(trace.status).toBe(404);
    expect(trace.type).toContain('application/problem+json');
    expect(trace.body).not.toContain('echo-me');
  });

  it('a configured cap applies instead of the default', async () => {
    const short = await TestPlatform.start({
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      OIDC_MAX_TOKEN_LIFETIME_SECONDS: '3600',
    });
    try {
      expect(
        (await short.request('GET', '/analytics/events/counts', { token: token({ exp: now() + 3600 }) })).status,
      ).toBe(200);
      expect(
        (await short.request('GET', '/analytics/events/counts', { token: token({ exp: now() + 7200 }) })).body.reason,
      ).toBe('lifetime_exceeded');
    } finally {
      await short.close();
    }
  });

  it('OIDC_MAX_TOKEN_LIFETIME_SECONDS=0 turns the cap off', async () => {
    const off = await TestPlatform.start({
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      OIDC_MAX_TOKEN_LIFETIME_SECONDS: '0',
    });
    try {
      expect(
        (await off.request('GET', '/analytics/events/counts', { token: token({ exp: now() + 30 * 86_400 }) })).status,
      ).toBe(200);
    } finally {
      await off.close();
    }
  });
});

describe('the audit record keeps the decision and the outcome apart', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await TestPlatform.start();
  });
  afterAll(() => platform?.close());

  it('allowed by the policy, refused by the handler: decision allow, outcome refused, status 403 and why; each outcome is a filter of GET /platform/audit', async () => {
    const alice = await platform.userToken('alice');
    const carol = await platform.userToken('carol');
    // alice may explain decisions (the policy allows it), but not in another tenant (the handler refuses).
    const refused = await platform.request(
      'GET',
      '/platform/authz/explain?subject=dave&permission=billing:invoices:read&tenant=globex',
      { token: alice },
    );
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ status: 403, reason: 'other_tenant' });
    expect(await platform.auditOf(refused.requestId)).toMatchObject({
      decision: 'allow',
      reason: 'permission_granted',
      outcome: 'refused',
      status: 403,
      errorReason: 'other_tenant',
    });

    const denied = await platform.request('GET', '/billing/invoices', { token: carol });
    expect(await platform.auditOf(denied.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_permission',
      outcome: 'denied',
      status: 403,
    });
    const served = await platform.request('GET', '/users/me', { token: carol });
    expect(await platform.auditOf(served.requestId)).toMatchObject({
      decision: 'allow',
      outcome: 'success',
      status: 200,
    });
    const unknown = await platform.request('GET', '/no/such/route', { token: carol });
    expect(await platform.auditOf(unknown.requestId)).toMatchObject({
      decision: null,
      outcome: 'rejected',
      status: 404,
    });
    const invalid = await platform.request('POST', '/billing/invoices', {
      token: await platform.userToken('bob'),
      body: { customer: 'x' },
    });
    expect(invalid.status).toBe(400);
    expect(await platform.auditOf(invalid.requestId)).toMatchObject({
      decision: 'allow',
      outcome: 'refused',
      status: 400,
      errorReason: 'validation_failed',
    });

    await platform.flushAudit();
    const page = await platform.request('GET', '/platform/audit?decision=allow&outcome=refused&status=403', {
      token: alice,
    });
    expect(page.status).toBe(200);
    const items = page.body.items as Array<{ requestId: string; decision: string; outcome: string }>;
    expect(items.map((r) => r.requestId)).toContain(refused.requestId);
    expect(items.every((r) => r.decision === 'allow' && r.outcome === 'refused')).toBe(true);
    const bad = await platform.request('GET', '/platform/audit?outcome=maybe', { token: alice });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ reason: 'validation_failed' });
  });
});

/** Resolves on `client`'s next 'ready' event; rejects after `ms`, or when there is no client or it has ended, naming `name`. */
function reconnected(name: string, client: RedisService['client'], ms: number): Promise<void> {
  if (!client) return Promise.reject(new Error(`instance ${name} has no Redis client`));
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => settle();
    const onEnd = () =>
      settle(new Error(`instance ${name}: its Redis client gave up reconnecting (status ${client.status})`));
    const timer = setTimeout(
      () => settle(new Error(`instance ${name}: Redis not ready again within ${ms} ms (status ${client.status})`)),
      ms,
    );
    client.once('ready', onReady);
    client.once('end', onEnd);
    if (client.status === 'end') onEnd();
  });
}

/** A rate-limit file with small budgets, for one suite. */
function limitsFile(yaml: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'rate-limits-')), 'rate-limits.yaml');
  writeFileSync(file, yaml);
  return file;
}

describe.runIf(process.env.TEST_REDIS_URL)(
  'rate limits with Redis cut or hanging: each of RATE_LIMIT_INSTANCES=2 enforces half the budget',
  () => {
    const AUD = 'urn:fault-authz-test';
    const BUDGET = 10;
    let issuer: TestIssuer;
    let proxy: TcpProxy;
    let a: TestPlatform;
    let b: TestPlatform;
    const token = (sub: string) =>
      issuer.sign({ aud: AUD, sub, tenant: 'acme', roles: ['analyst'], exp: now() + 3600 });
    const counts = (platform: TestPlatform, bearer: string) =>
      platform.request('GET', '/analytics/events/counts', { token: bearer });
    /**
     * Resolves when both instances' Redis clients have reconnected (their next 'ready' event), after
     * the proxy is restored. Bounded: rejects after 10 s, or at once when an instance has no client or
     * ioredis gave up ('end'), naming the instance and its client's status.
     */
    const ready = () =>
      Promise.all(
        Object.entries<TestPlatform>({ A: a, B: b }).map(([name, p]) =>
          reconnected(name, p.running.app.get(RedisService).client, 10_000),
        ),
      );
    /** `workers` concurrent loops, each sending `each` requests alternately to A and B; every status. */
    const load = async (bearer: string, workers: number, each: number, midway?: () => void): Promise<number[]> => {
      const out: number[] = [];
      let sent = 0;
      await Promise.all(
        Array.from({ length: workers }, async (_, w) => {
          for (let i = 0; i < each; i++) {
            if (++sent === Math.floor((workers * each) / 2)) midway?.();
            out.push((await counts((w + i) % 2 === 0 ? a : b, bearer)).status);
          }
        }),
      );
      return out;
    };
    const allowed = (list: number[]) => list.filter((s) => s === 200).length;
    /** The suite's figures, printed with the run (CI log). */
    const report = (scenario: string, admitted: number, answered: number[]) =>
      process.stdout.write(
        `[fault-authz] ${scenario}: admitted ${admitted} of budget ${BUDGET} across 2 instances; ${answered.length} answered, 5xx ${answered.filter((s) => s >= 500).length}\n`,
      );

    beforeAll(async () => {
      const redis = new URL(process.env.TEST_REDIS_URL as string);
      proxy = await TcpProxy.start({ host: redis.hostname, port: Number(redis.port || 6379) });
      issuer = await TestIssuer.start();
      issuer.addKey('k1');
      const env = {
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: AUD,
        RATE_LIMITS_FILE: limitsFile(
          `windowSeconds: 600\ndefaults: { user: ${BUDGET}, service: ${BUDGET}, agent: ${BUDGET}, anonymous: 100000 }\n`,
        ),
        RATE_LIMIT_INSTANCES: '2',
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        REDIS_KEY_PREFIX: `fault-authz-${randomBytes(6).toString('hex')}:`,
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

    it('Redis cut before any request: A and B admit 5 each (10 in all, the budget), and say shared=false with limit 5', async () => {
      proxy.cut();
      try {
        const bearer = token('cut-cold');
        const onA = await statuses(8, () => counts(a, bearer));
        const onB = await statuses(8, () => counts(b, bearer));
        expect(onA).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
        expect(onB).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
        report('Redis cut before any request', allowed([...onA, ...onB]), [...onA, ...onB]);
        const limited = await counts(a, bearer);
        expect(limited.headers.get('ratelimit-policy')).toBe('"analytics.user";q=5;w=600');
        expect(await a.auditOf(limited.requestId)).toMatchObject({
          reason: 'rate_limited',
          outcome: 'denied',
          details: { shared: false, limit: 5 },
        });
      } finally {
        const back = ready();
        proxy.restore();
        await back;
      }
    });

    it('Redis cut after part of the budget was spent shared: each instance starts from its share of it, the total stays within the budget', async () => {
      const bearer = token('cut-warm');
      const shared = [
        await counts(a, bearer),
        await counts(b, bearer),
        await counts(a, bearer),
        await counts(b, bearer),
      ];
      expect(shared.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      proxy.cut();
      try {
        const during = [
          ...(await statuses(10, () => counts(a, bearer))),
          ...(await statuses(10, () => counts(b, bearer))),
        ];
        expect(during.every((s) => s === 200 || s === 429)).toBe(true);
        // A last saw 3 shared, B 4: each starts from 2 of its 5, so 3 + 3 more; 4 + 6 = 10 = the budget.
        expect(4 + allowed(during)).toBeLessThanOrEqual(BUDGET);
        expect(allowed(during)).toBe(6);
        report('Redis cut after 4 shared requests', 4 + allowed(during), during);
      } finally {
        const back = ready();
        proxy.restore();
        await back;
      }
    });

    it('two outages in one window: the second starts from the share of what was spent shared in between, not from the first outage’s count', async () => {
      const bearer = token('cut-twice');
      const outage = async (perInstance: number) => {
        proxy.cut();
        try {
          return [
            ...(await statuses(perInstance, () => counts(a, bearer))),
            ...(await statuses(perInstance, () => counts(b, bearer))),
          ];
        } finally {
          const back = ready();
          proxy.restore();
          await back;
        }
      };
      expect(await outage(1)).toEqual([200, 200]);
      // Shared again: A last sees 5, B 6 (the first outage's two stay local, Redis never hears of them).
      expect(
        await statuses(
          6,
          (() => {
            let i = 0;
            return () => counts(i++ % 2 === 0 ? a : b, bearer);
          })(),
        ),
      ).toEqual([200, 200, 200, 200, 200, 200]);
      const second = await outage(4);
      // Each starts from 3 of its 5 (ceil(5/2), ceil(6/2)), not from the 1 it counted in the first outage: 2 + 2 more.
      expect(second).toEqual([200, 200, 429, 429, 200, 200, 429, 429]);
      report('two Redis outages in one window', 2 + 6 + allowed(second), [...second]);
    });

    it('cut under concurrent load on both instances: no 5xx, and the total admitted stays within the budget plus the requests in flight at the cut', async () => {
      const WORKERS = 4;
      const bearer = token('cut-load');
      const results = await load(bearer, WORKERS, 10, () => proxy.cut());
      try {
        expect(results).toHaveLength(40);
        expect(results.filter((s) => s >= 500)).toEqual([]);
        expect(results.every((s) => s === 200 || s === 429)).toBe(true);
        // Documented slack (docs/machines-and-agents.md): each instance seeds from the shared count it
        // last saw, which can miss what the other admitted while requests were in flight.
        expect(allowed(results)).toBeLessThanOrEqual(BUDGET + WORKERS);
        expect(allowed(results)).toBeGreaterThanOrEqual(1);
        report('Redis cut under load (4 concurrent clients)', allowed(results), results);
      } finally {
        const back = ready();
        proxy.restore();
        await back;
      }
    });

    it('Redis hanging (connections open, no answers) under concurrent load: no 5xx, each instance admits its share, then sharing resumes', async () => {
      const bearer = token('hang-load');
      proxy.stall();
      let results: number[];
      try {
        results = await load(bearer, 4, 8);
      } finally {
        const back = ready();
        proxy.restore();
        await back;
      }
      expect(results).toHaveLength(32);
      expect(results.filter((s) => s >= 500)).toEqual([]);
      expect(allowed(results)).toBeLessThanOrEqual(BUDGET);
      expect(allowed(results)).toBeGreaterThanOrEqual(2);
      report('Redis hanging under load (4 concurrent clients)', allowed(results), results);
      // Back: a fresh principal gets the budget across both instances, never more.
      const fresh = token('after-hang');
      const spread = await statuses(
        BUDGET + 1,
        (() => {
          let i = 0;
          return () => counts(i++ % 2 === 0 ? a : b, fresh);
        })(),
      );
      expect(spread).toEqual([...Array(BUDGET).fill(200), 429]);
    });
  },
);
