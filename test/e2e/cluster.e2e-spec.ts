import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuditVerify } from '../support/audit-table';
import { freePort, PlatformProcess } from '../support/platform-process';
import { TestIssuer } from '../support/test-issuer';
import { createTestDatabase } from '../support/test-platform';

const READY = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);
if (!READY) {
  process.stdout.write(
    `[e2e] cluster mode (WORKERS=2): SKIPPED (${[!process.env.TEST_DATABASE_URL && 'TEST_DATABASE_URL is not set', !process.env.TEST_REDIS_URL && 'TEST_REDIS_URL is not set'].filter(Boolean).join('; ')})\n`,
  );
}

const AUD = 'urn:platform:cluster-test';
const CLUSTER_READY = 'Platform cluster listening';

/** The pid in a request's log line, keyed by its request id (lines that are not request lines are passed over). */
function requestLine(line: string): { requestId: string; pid: number } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { pid?: number; requestId?: string; route?: string };
    return entry.pid !== undefined && entry.requestId !== undefined && entry.route !== undefined
      ? { requestId: entry.requestId, pid: entry.pid }
      : undefined;
  } catch {
    return undefined;
  }
}

describe('WORKERS on the embedded default', () => {
  it('more than one worker without PostgreSQL and Redis refuses to start, naming what is missing', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'cluster-refused-'));
    try {
      const started = PlatformProcess.start({
        NODE_ENV: 'test',
        PORT: String(await freePort()),
        DATA_DIR: scratch,
        WORKERS: '2',
      });
      await expect(started).rejects.toThrow(/WORKERS=2 needs DATABASE_URL.*\n.*WORKERS=2 needs REDIS_URL/s);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe.runIf(READY)('cluster mode: two workers sharing one port, PostgreSQL and Redis', () => {
  let issuer: TestIssuer;
  let database: { url: string; drop: () => Promise<void> };
  let scratch: string;
  let platform: PlatformProcess;
  const token = (sub: string, roles: string[]) => issuer.sign({ aud: AUD, sub, tenant: 'acme', roles }, {});

  /** Worker pid of each request, from its log line. */
  const servedBy = new Map<string, number>();
  const lineWaiters = new Map<string, () => void>();

  /**
   * Sends `count` reads, `parallel` at a time on separate connections, each with its own request id;
   * resolves once every request's log line was written (the worker's pid is then in {@link servedBy}).
   */
  const reads = async (bearer: string, route: string, count: number, parallel: number, prefix: string) => {
    const results: Array<{ id: string; status: number }> = [];
    const logged: Promise<void>[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) {
          const id = `${prefix}-${next++}`;
          if (!servedBy.has(id)) logged.push(new Promise((resolve) => lineWaiters.set(id, resolve)));
          // A fresh connection per request: node:cluster hands connections, not requests, to workers.
          const response = await fetch(`${platform.url}${route}`, {
            headers: { authorization: `Bearer ${bearer}`, 'x-request-id': id, connection: 'close' },
          });
          await response.arrayBuffer();
          results.push({ id, status: response.status });
        }
      }),
    );
    await Promise.all(logged);
    return results;
  };
  const pidsOf = (results: Array<{ id: string }>) => new Set(results.map((r) => servedBy.get(r.id)));

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    database = await createTestDatabase();
    scratch = mkdtempSync(path.join(tmpdir(), 'cluster-'));
    const limits = path.join(scratch, 'rate-limits.yaml');
    writeFileSync(
      limits,
      'windowSeconds: 60\ndefaults: { user: 1000000, service: 1000000, agent: 1000000, anonymous: 1000000 }\napps:\n  billing: { user: 9 }\n',
    );
    platform = await PlatformProcess.start({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      DATA_DIR: scratch,
      WORKERS: '2',
      AUDIT_DURABILITY: 'before-response',
      LOG_LEVEL: 'info',
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: AUD,
      DATABASE_URL: database.url,
      REDIS_URL: process.env.TEST_REDIS_URL as string,
      REDIS_KEY_PREFIX: `cluster-${randomBytes(6).toString('hex')}:`,
      RATE_LIMITS_FILE: limits,
      POLICY_FILE: path.resolve(__dirname, '../../config/policy.yaml'),
    });
    platform.watchLines((line) => {
      const entry = requestLine(line);
      if (!entry) return;
      servedBy.set(entry.requestId, entry.pid);
      lineWaiters.get(entry.requestId)?.();
    });
    // The first worker's "Platform listening" resolved the start; the primary says when all listen.
    if (!platform.output.includes(CLUSTER_READY)) await platform.waitForLine(CLUSTER_READY);
  }, 120_000);

  afterAll(async () => {
    await platform?.stop('SIGKILL');
    await issuer?.close();
    await database?.drop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('both workers answer on the one port, and every answer is audited once', async () => {
    const results = await reads(
      token('alice-cluster', ['analyst']),
      '/analytics/events/counts',
      60,
      6,
      `spread-${randomBytes(3).toString('hex')}`,
    );
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(200));
    expect(pidsOf(results).size).toBe(2);
    // AUDIT_DURABILITY=before-response: each record is in the table when its answer is sent.
    const { Client } = await import('pg');
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from audit_records where kind = 'access' and request_id = any($1) group by request_id",
        [results.map((r) => r.id)],
      );
      expect(rows).toHaveLength(60);
      expect(rows.every((r) => r.n === 1)).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('a scrape of /metrics, whichever worker answers it, counts the requests of both workers', async () => {
    const scraper = issuer.sign(
      { aud: AUD, sub: 'metrics-scraper', client_id: 'metrics-scraper', scope: 'platform:metrics:read' },
      {},
    );
    const prefix = `metrics-${randomBytes(3).toString('hex')}`;
    const sent = await reads(token('dave-cluster', ['analyst']), '/analytics/events/usage-not-a-route', 30, 6, prefix);
    expect(pidsOf(sent).size).toBe(2);
    const counted = async () => {
      const response = await fetch(`${platform.url}/metrics`, {
        headers: { authorization: `Bearer ${scraper}`, connection: 'close' },
      });
      expect(response.status).toBe(200);
      const line = (await response.text())
        .split('\n')
        .find(
          (l) =>
            l.startsWith('platform_http_requests_total{') &&
            l.includes('route="unmatched"') &&
            l.includes('status="404"'),
        );
      return Number(line?.split(' ').pop());
    };
    // Two scrapes on fresh connections: each worker answers one in turn; both see all 30.
    expect([await counted(), await counted()]).toEqual([30, 30]);
  });

  it('one rate-limit budget for all workers: 9 of 14 requests pass, whichever worker answers', async () => {
    const results = await reads(
      token(`budget-${randomBytes(4).toString('hex')}`, ['billing-manager']),
      '/billing/invoices',
      14,
      2,
      `budget-${randomBytes(3).toString('hex')}`,
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(9);
    expect(results.filter((r) => r.status === 429)).toHaveLength(5);
  });

  it('a worker killed with -9 is started again; SIGTERM stops every worker gracefully and the audit chain verifies', async () => {
    const before = pidsOf(
      await reads(token('bob-cluster', ['analyst']), '/analytics/events/counts', 20, 4, 'before-kill'),
    );
    expect(before.size).toBe(2);
    const [killed] = [...before] as number[];
    const restarted = platform.waitForLine(CLUSTER_READY);
    process.kill(killed, 'SIGKILL');
    await restarted;
    const after = await reads(token('carol-cluster', ['analyst']), '/analytics/events/counts', 20, 4, 'after-restart');
    expect(after.map((r) => r.status)).toEqual(Array(20).fill(200));
    // Two workers again, the killed one replaced by a new process.
    expect(pidsOf(after).size).toBe(2);
    expect(pidsOf(after).has(killed)).toBe(false);
    expect(await platform.stop('SIGTERM')).toBe(0);
    expect(platform.output).toContain('Stopped: audit trail flushed, database closed');
    const verify = await runAuditVerify({ dataDir: scratch, databaseUrl: database.url });
    expect(verify.code).toBe(0);
  }, 120_000);
});
