import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuditVerify } from '../support/audit-table';
import { HaProxy, haproxyBinary } from '../support/haproxy';
import { freePort, PlatformProcess, stablePort } from '../support/platform-process';
import { TestIssuer } from '../support/test-issuer';
import { createTestDatabase } from '../support/test-platform';

const HAPROXY = haproxyBinary();
const READY = Boolean(HAPROXY && process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);
if (!READY) {
  process.stdout.write(
    `[e2e] replicas behind HAProxy: SKIPPED (${[!HAPROXY && 'haproxy is not installed (apt-get install haproxy)', !process.env.TEST_DATABASE_URL && 'TEST_DATABASE_URL is not set', !process.env.TEST_REDIS_URL && 'TEST_REDIS_URL is not set'].filter(Boolean).join('; ')})\n`,
  );
}

const AUD = 'urn:platform:replicas-test';
const NAMES = ['p0', 'p1', 'p2'] as const;
/** Concurrent clients of the steady load. */
const CLIENTS = 8;

/** One request of the load, as its client saw it. */
interface Outcome {
  id: string;
  status?: number;
  servedBy?: string;
  error?: string;
  /** The start of a 5xx body, to tell the load balancer's refusals from the platform's. */
  body?: string;
}

/**
 * Steady, bounded load through the load balancer: CLIENTS loops of authenticated, audited reads,
 * each request with its own X-Request-Id (so its access record can be found), until stopped.
 */
class Load {
  readonly outcomes: Outcome[] = [];
  /** Requests sent a second time after a connection-level failure, with the first error. */
  readonly retried: { id: string; error: string }[] = [];
  private running = true;
  private readonly loops: Promise<void>[];
  private readonly waiters: Array<[number, () => void]> = [];

  constructor(url: string, tokens: string[], prefix: string) {
    this.loops = Array.from({ length: CLIENTS }, async (_, n) => {
      for (let i = 0; this.running; i++) {
        const id = `${prefix}-${n}-${i}`;
        // A GET that failed before any response (a kept-alive connection closed as it was reused) is
        // sent again once with the same X-Request-Id, as HTTP clients do for idempotent requests
        // (RFC 9110, section 9.2.2); counted, and the audit check still sees a duplicate if the first
        // one was in fact served.
        for (let attempt = 1; ; attempt++) {
          try {
            const response = await fetch(`${url}/analytics/events/counts`, {
              headers: { authorization: `Bearer ${tokens[n % tokens.length]}`, 'x-request-id': id },
            });
            const body = await response.text();
            this.outcomes.push({
              id,
              status: response.status,
              servedBy: response.headers.get('x-served-by') ?? undefined,
              ...(response.status >= 500 && { body: body.slice(0, 120) }),
            });
            break;
          } catch (err) {
            const cause = (err as { cause?: { code?: string; message?: string } }).cause;
            const error = `${(err as Error).message}: ${cause?.code ?? cause?.message ?? ''}`;
            if (attempt === 1) {
              this.retried.push({ id, error });
              continue;
            }
            this.outcomes.push({ id, error });
            break;
          }
        }
        for (const [count, resolve] of [...this.waiters]) if (this.outcomes.length >= count) resolve();
      }
    });
  }

  /** Resolves once `more` further requests have been answered (or failed). */
  next(more: number): Promise<void> {
    const target = this.outcomes.length + more;
    return new Promise((resolve) => this.waiters.push([target, resolve]));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  get answered(): Outcome[] {
    return this.outcomes.filter((o) => o.status !== undefined && o.status < 500);
  }

  get failed(): Outcome[] {
    return this.outcomes.filter((o) => o.status === undefined || o.status >= 500);
  }
}

describe.runIf(READY)('three replicas behind HAProxy, sharing PostgreSQL and Redis', () => {
  let issuer: TestIssuer;
  let database: { url: string; drop: () => Promise<void> };
  let proxy: HaProxy;
  const ports: Record<string, number> = {};
  const dataDirs: Record<string, string> = {};
  const instances: Record<string, PlatformProcess> = {};
  let scratch: string;
  let env: (name: string) => Record<string, string>;
  const token = (sub: string, roles: string[]) => issuer.sign({ aud: AUD, sub, tenant: 'acme', roles }, {});
  const direct = (name: string) => `http://127.0.0.1:${ports[name]}`;

  /** Every access record of the given request ids, counted per id, read from PostgreSQL. */
  const auditCounts = async (ids: string[]): Promise<Map<string, number>> => {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ request_id: string; n: number }>(
        "select request_id, count(*)::int as n from audit_records where kind = 'access' and request_id = any($1) group by request_id",
        [ids],
      );
      return new Map(rows.map((r) => [r.request_id, r.n]));
    } finally {
      await client.end();
    }
  };
  /** Waits (bounded) until every id has a record: the instances flush their batches every 200 ms. */
  const settledCounts = async (ids: string[]): Promise<Map<string, number>> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const counts = await auditCounts(ids);
      if (counts.size === ids.length || Date.now() > deadline) return counts;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    database = await createTestDatabase();
    scratch = mkdtempSync(path.join(tmpdir(), 'replicas-'));
    const limits = path.join(scratch, 'rate-limits.yaml');
    // Reads are unlimited enough for the load; billing has a small budget for the shared-budget check.
    writeFileSync(
      limits,
      'windowSeconds: 60\ndefaults: { user: 1000000, service: 1000000, agent: 1000000, anonymous: 1000000 }\napps:\n  billing: { user: 9 }\n',
    );
    const prefix = `replicas-${randomBytes(6).toString('hex')}:`;
    for (const name of NAMES) {
      // Kept across restarts (HAProxy's servers): outside the ephemeral range, where no other suite's listen(0) takes it while the replica is down.
      ports[name] = await stablePort();
      dataDirs[name] = mkdtempSync(path.join(scratch, `${name}-`));
    }
    env = (name) => ({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(ports[name]),
      DATA_DIR: dataDirs[name],
      // Counts are read from the table right after the load: records must be in it at the response.
      AUDIT_DURABILITY: 'before-response',
      LOG_LEVEL: 'info',
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      DATABASE_URL: database.url,
      REDIS_URL: process.env.TEST_REDIS_URL as string,
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMITS_FILE: limits,
      POLICY_FILE: path.resolve(__dirname, '../../config/policy.yaml'),
    });
    // One at a time the first time: the first runs the migrations (the others would wait on its lock anyway).
    for (const name of NAMES) instances[name] = await PlatformProcess.start(env(name));
    proxy = await HaProxy.start(HAPROXY as string, await freePort(), ports);
    for (const name of NAMES) await proxy.until(name, (s) => s.status === 'UP');
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    await Promise.all(Object.values(instances).map((p) => p.stop('SIGKILL')));
    await issuer?.close();
    await database?.drop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('one rate-limit budget across the three: 9 requests spread over all three pass, then each replica refuses', async () => {
    const budgeted = token(`budget-${randomBytes(4).toString('hex')}`, ['billing-manager']);
    const send = async () => {
      const response = await fetch(`${proxy.url}/billing/invoices`, {
        headers: { authorization: `Bearer ${budgeted}` },
      });
      await response.arrayBuffer();
      return { status: response.status, servedBy: response.headers.get('x-served-by') };
    };
    const allowed = [];
    for (let i = 0; i < 9; i++) allowed.push(await send());
    const refused = [await send(), await send(), await send()];
    expect(allowed.map((r) => r.status)).toEqual(Array(9).fill(200));
    expect(new Set(allowed.map((r) => r.servedBy))).toEqual(new Set(NAMES));
    expect(refused.map((r) => r.status)).toEqual([429, 429, 429]);
    expect(new Set(refused.map((r) => r.servedBy))).toEqual(new Set(NAMES));
    process.stdout.write(
      `[replicas] rate limit: budget 9, allowed ${allowed.length} over ${new Set(allowed.map((r) => r.servedBy)).size} replicas, then 429 on ${[...new Set(refused.map((r) => r.servedBy))].join(', ')}\n`,
    );
  });

  it('a role revoked on one replica is refused on all three within 1 s', async () => {
    const admin = token('admin-replicas', ['admin']);
    const subject = `carol-${randomBytes(4).toString('hex')}`;
    const person = token(subject, ['analyst']);
    const call = async (base: string, method: string, route: string, bearer: string, body?: unknown) => {
      const response = await fetch(`${base}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.text() };
    };
    const me = await call(direct('p0'), 'GET', '/users/me', person);
    expect(me.status).toBe(200);
    const userId = (JSON.parse(me.body) as { id: string }).id;
    const granted = await call(direct('p0'), 'POST', `/users/${userId}/roles`, admin, { role: 'billing-manager' });
    expect(granted.status).toBeLessThan(300);
    // The grant reaches every replica first (same mechanism, the other direction).
    // Polls pause 25 ms between requests: three loops polling without a pause would load the shared
    // cores and stretch the very answer times they measure. The delay is taken when the first request
    // that got `wanted` was SENT (not when it was answered); `roundTrip` is how long that request took.
    const POLL_PAUSE_MS = 25;
    const firstStatus = async (name: string, wanted: number, since: number) => {
      for (;;) {
        const sent = Date.now();
        const { status } = await call(direct(name), 'GET', '/billing/invoices', person);
        const answered = Date.now();
        if (status === wanted) return { delay: sent - since, roundTrip: answered - sent };
        if (answered - since > 5_000) throw new Error(`${name} still answers ${status}`);
        await new Promise((r) => setTimeout(r, POLL_PAUSE_MS));
      }
    };
    await Promise.all(NAMES.map((name) => firstStatus(name, 200, Date.now())));

    const sentAt = Date.now();
    const revoked = await call(direct('p1'), 'DELETE', `/users/${userId}/roles/billing-manager`, admin);
    // Measured from the revocation's answer: from then on it is committed and must hold everywhere.
    const revokedAt = Date.now();
    expect(revoked.status).toBeLessThan(300);
    const refusals = await Promise.all(NAMES.map((name) => firstStatus(name, 403, revokedAt)));
    process.stdout.write(
      `[replicas] revocation on p1 (DELETE answered in ${revokedAt - sentAt} ms) refused after (bound 1000 ms): ${NAMES.map((n, i) => `${n} ${refusals[i].delay} ms (round trip ${refusals[i].roundTrip} ms)`).join(', ')} (from the DELETE's answer to the sending of the first request answered 403, polling every ${POLL_PAUSE_MS} ms)\n`,
    );
    // 1 s, plus the sampling interval (one measured round trip and the pause): the request before
    // the first 403 may have been sent just before the revocation took effect there, and answered 200.
    for (const { delay, roundTrip } of refusals) expect(delay).toBeLessThan(1000 + roundTrip + POLL_PAUSE_MS);
  });

  it('rolling restart under steady load (each replica drained, SIGTERM, started again): no failed request, every answered request audited exactly once, chain intact', async () => {
    const tokens = Array.from({ length: CLIENTS }, (_, n) => token(`load-${n}`, ['analyst']));
    const load = new Load(proxy.url, tokens, `roll-${randomBytes(4).toString('hex')}`);
    const startedAt = Date.now();
    const phases: string[] = [];
    try {
      await load.next(100);
      for (const name of NAMES) {
        // What Kubernetes does: the pod leaves the endpoints (preStop), then SIGTERM drains it.
        const t0 = Date.now();
        await proxy.admin(`set server platform/${name} state drain`);
        await proxy.until(name, (s) => s.sessions === 0);
        const t1 = Date.now();
        expect(await instances[name].stop('SIGTERM')).toBe(0);
        const t2 = Date.now();
        instances[name] = await PlatformProcess.start(env(name));
        const t3 = Date.now();
        await proxy.admin(`set server platform/${name} state ready`);
        await proxy.until(name, (s) => s.status === 'UP');
        phases.push(
          `${name}: drained ${t1 - t0} ms, stopped ${t2 - t1} ms, started ${t3 - t2} ms, back in rotation ${Date.now() - t3} ms`,
        );
        await load.next(50);
      }
    } finally {
      await load.stop();
    }
    const answered = load.answered;
    const counts = await settledCounts(answered.map((o) => o.id));
    const notOnce = answered.filter((o) => counts.get(o.id) !== 1);
    const seconds = (Date.now() - startedAt) / 1000;
    process.stdout.write(
      `[replicas] rolling restart: ${load.outcomes.length} requests in ${seconds.toFixed(1)} s, failed ${load.failed.length} (client retries after a closed connection: ${load.retried.length}${load.retried.length ? ` ${[...new Set(load.retried.map((r) => r.error))].join('; ')}` : ''}), answered ${answered.length}, audited exactly once ${answered.length - notOnce.length}, served by ${NAMES.map((n) => `${n} ${answered.filter((o) => o.servedBy === n).length}`).join(', ')}\n[replicas]   ${phases.join('\n[replicas]   ')}\n`,
    );
    expect(load.failed.map((o) => ({ ...o, haproxy: proxy.logs.get(o.id) }))).toEqual([]);
    expect(answered.every((o) => o.status === 200)).toBe(true);
    expect(notOnce).toEqual([]);
    const verify = await runAuditVerify({ dataDir: scratch, databaseUrl: database.url });
    expect(verify.code).toBe(0);
  }, 240_000);

  it('a replica killed with -9 under load: only requests in flight on it can fail, every request the others answered is audited once, the chain stays intact; the killed one is replaced', async () => {
    const tokens = Array.from({ length: CLIENTS }, (_, n) => token(`crash-${n}`, ['analyst']));
    const load = new Load(proxy.url, tokens, `kill-${randomBytes(4).toString('hex')}`);
    try {
      await load.next(100);
      expect(await instances.p1.stop('SIGKILL')).toBeNull();
      await proxy.until('p1', (s) => s.status.startsWith('DOWN'));
      await load.next(50);
      instances.p1 = await PlatformProcess.start(env('p1'));
      await proxy.until('p1', (s) => s.status === 'UP');
      await load.next(50);
    } finally {
      await load.stop();
    }
    const answered = load.answered;
    const counts = await settledCounts(answered.filter((o) => o.servedBy !== 'p1').map((o) => o.id));
    const byKilled = answered.filter((o) => o.servedBy === 'p1');
    const killedCounts = await auditCounts(byKilled.map((o) => o.id));
    const lostOnKilled = byKilled.filter((o) => !killedCounts.has(o.id)).length;
    const others = answered.filter((o) => o.servedBy !== 'p1');
    // A request p1 received, recorded (durably, before answering) and died before answering is
    // retried by HAProxy on p0 or p2 (retry-on empty-response): two executions, two access records,
    // both true. Only those, by HAProxy's log (its retry count), may have two.
    const retriedByProxy = (id: string) =>
      Number(/\s\d+\/\d+\/\d+\/\d+\/\+?(\d+)\s\d+\/\d+\s/.exec(proxy.logs.get(id) ?? '')?.[1] ?? 0) > 0;
    const notOnce = others.filter((o) => counts.get(o.id) !== 1 && !(counts.get(o.id) === 2 && retriedByProxy(o.id)));
    const twiceAfterRetry = others.filter((o) => counts.get(o.id) === 2 && retriedByProxy(o.id)).length;
    process.stdout.write(
      `[replicas] kill -9 of p1: ${load.outcomes.length} requests, failed ${load.failed.length} (client retries after a closed connection: ${load.retried.length}), answered ${answered.length}; by p0/p2 ${others.length}, audited once ${others.length - notOnce.length - twiceAfterRetry}, twice after HAProxy retried them from p1 (recorded there, unanswered at the kill) ${twiceAfterRetry}; by p1 ${byKilled.length}, without access record ${lostOnKilled}\n`,
    );
    // A request whose response was under way when the process died cannot be retried by the load
    // balancer: at most one per client. Requests refused before reaching it are retried elsewhere.
    expect(load.failed.length).toBeLessThanOrEqual(CLIENTS);
    expect(load.failed.every((o) => o.status === undefined || o.status === 502)).toBe(true);
    expect(notOnce.map((o) => ({ ...o, records: counts.get(o.id) ?? 0, haproxy: proxy.logs.get(o.id) }))).toEqual([]);
    expect([...killedCounts.values()].every((n) => n === 1)).toBe(true);
    // Nothing answered is lost with the killed replica: its access records are durable (in the
    // table or its journal, replayed when it starts again) before the response is sent
    // (AUDIT_DURABILITY=before-response, set above).
    expect(lostOnKilled).toBe(0);
    const verify = await runAuditVerify({ dataDir: scratch, databaseUrl: database.url });
    expect(verify.code).toBe(0);
  }, 240_000);
});
