import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRepository, AuditWriter, type AuditRow } from '@platform/audit';
import { DatabaseService } from '@platform/database';
import { PlatformMetrics } from '@platform/observability';
import { TcpProxy } from '../support/tcp-proxy';
import { availableDatabases, createTestDatabase, TestPlatform, type TestResponse } from '../support/test-platform';

const invoiceBody = {
  customer: 'Fault Tolerant Ltd',
  currency: 'EUR',
  lines: [{ description: 'Seats', quantity: 2, unitAmount: 1000 }],
};

/**
 * Longest wait for one step (the load meeting a fault, readiness seeing it, recovery), in
 * milliseconds: not a speed requirement (recovery takes well under a second here), only so that a
 * platform that never recovers fails naming the step instead of hitting the test's timeout.
 */
const RECOVERY_BOUND_MS = 30_000;

/** Rejects with what was awaited when `work` takes longer than RECOVERY_BOUND_MS. */
async function bounded<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(
        () => reject(new Error(`still waiting for ${what} after ${RECOVERY_BOUND_MS} ms`)),
        RECOVERY_BOUND_MS,
      )),
  );
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One answer of the write load. */
interface Answer {
  requestId: string;
  status: number;
  reason?: string;
  retryAfter: string | null;
  invoiceId?: string;
  /** The `Connection` response header. */
  connection?: string | null;
}

/** Every record of the audit table, oldest first, through the platform's repository. */
async function allRecords(platform: TestPlatform): Promise<AuditRow[]> {
  const repository = platform.running.app.get(AuditRepository);
  const rows: AuditRow[] = [];
  for (
    let page = await repository.ascendingPage(0, 1000);
    page.length > 0;
    page = await repository.ascendingPage(rows[rows.length - 1].id, 1000)
  )
    rows.push(...page);
  return rows;
}

/** Resolves when the audit writer writes to the database again (its journal replayed). */
function auditBackInDatabase(platform: TestPlatform): Promise<void> {
  const writer = platform.running.app.get(AuditWriter);
  if (writer.target === 'database') return Promise.resolve();
  return new Promise((resolve) => {
    const off = writer.onTargetChange((target) => {
      if (target === 'database') {
        off();
        resolve();
      }
    });
  });
}

/** The count of 503 `database_unavailable` answers in the metrics. */
async function unavailableCount(platform: TestPlatform): Promise<number> {
  const body = (await platform.running.app.get(PlatformMetrics).exposition()).body;
  return [...body.matchAll(/^platform_database_unavailable_total\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

describe('database faults on PGlite', () => {
  it('a closed embedded database answers 503 database_unavailable with Retry-After, counted; readiness 503; never 500', async () => {
    const platform = await TestPlatform.start();
    try {
      const token = await platform.userToken('bob');
      expect((await platform.request('POST', '/billing/invoices', { token, body: invoiceBody })).status).toBe(201);
      // What a request still running while the process shuts down meets: the database is closed.
      await platform.running.app.get(DatabaseService).onApplicationShutdown();
      const write = await platform.request('POST', '/billing/invoices', { token, body: invoiceBody });
      expect(write.status).toBe(503);
      expect(write.headers.get('content-type')).toContain('application/problem+json');
      expect(write.headers.get('retry-after')).toBe('5');
      expect(write.body).toMatchObject({
        status: 503,
        reason: 'database_unavailable',
        type: expect.stringContaining('database_unavailable'),
      });
      expect(JSON.stringify(write.body)).not.toMatch(/PGlite|stack|at .*\.ts/);
      expect((await platform.request('GET', '/billing/invoices', { token })).body).toMatchObject({
        status: 503,
        reason: 'database_unavailable',
      });
      expect((await platform.request('GET', '/health/ready')).body).toMatchObject({
        status: 503,
        reason: 'not_ready',
        checks: { database: { status: 'down' } },
      });
      expect(await unavailableCount(platform)).toBe(2);
      expect(platform.logLines().some((l) => l.msg === 'Unhandled error')).toBe(false);
    } finally {
      await platform.close();
    }
  }, 60_000);
});

describe.each(availableDatabases())('graceful shutdown (the SIGTERM path) under write load on %s', (database) => {
  it('every answer before and during the close is 201 and has its access record, every 201 its row; no 5xx', async () => {
    const platform = await TestPlatform.start({}, database);
    // The database the platform used, read after it closed (PGlite: its folder; PostgreSQL: its URL).
    const target = { dataDir: platform.running.config.dataDir, databaseUrl: platform.running.config.databaseUrl };
    const answers: Answer[] = [];
    let closing = false;
    let created = 0;
    let reachedLoad: () => void;
    const loaded = new Promise<void>((resolve) => (reachedLoad = resolve));
    try {
      const token = await platform.userToken('bob');
      const writer = async () => {
        for (;;) {
          let response: TestResponse;
          try {
            response = await platform.request('POST', '/billing/invoices', { token, body: invoiceBody });
          } catch (err) {
            // After the close began, the server refuses new requests: that is how a writer learns it.
            if (closing) return;
            throw err;
          }
          answers.push({
            requestId: response.requestId,
            status: response.status,
            reason: response.body?.reason,
            retryAfter: response.headers.get('retry-after'),
            invoiceId: response.body?.id,
            connection: response.headers.get('connection'),
          });
          if (response.status === 201 && ++created === 40) reachedLoad();
        }
      };
      const writers = Array.from({ length: 8 }, writer);
      await loaded;
      // One more write, held in flight across the start of the close: its body is half sent.
      const held = heldRequest(platform, token);
      await held.arrived;
      closing = true;
      // What main.ts does on SIGTERM (the signal itself, against the built process, is in audit-durability).
      const closeStarted = performance.now();
      const closed = platform.running.close();
      const heldAnswer = await held.finish();
      await closed;
      const closeMs = Math.round(performance.now() - closeStarted);
      await Promise.all(writers);
      answers.push(heldAnswer);

      const { access, invoices } = await storedAfterClose(
        target,
        answers.filter((a) => a.status === 201).map((a) => a.invoiceId as string),
      );
      expect(answers.filter((a) => a.status !== 201)).toEqual([]);
      expect(answers.filter((a) => access.get(a.requestId) !== 1)).toEqual([]);
      expect(answers.filter((a) => !invoices.has(a.invoiceId as string))).toEqual([]);
      // A request in flight when the close began is answered with `Connection: close`: its
      // keep-alive connection does not hold the close until the keep-alive timeout (72 s).
      expect(heldAnswer).toMatchObject({ status: 201, connection: 'close' });
      expect(
        platform
          .logLines()
          .some(
            (l) =>
              l.msg === 'PostgreSQL connections still busy at shutdown: closing them' || l.msg === 'Unhandled error',
          ),
      ).toBe(false);
      process.stdout.write(
        `\n[faults-database] graceful close on ${database}: ${JSON.stringify({ closeMs, answered: answers.length, closedConnections: answers.filter((a) => a.connection === 'close').length, audited: answers.filter((a) => access.get(a.requestId) === 1).length, stored: invoices.size })}\n`,
      );
    } finally {
      await platform.close();
    }
  }, 120_000);
});

describe.runIf(process.env.TEST_DATABASE_URL)('database faults on PostgreSQL: cuts and hangs under write load', () => {
  let proxy: TcpProxy;
  let created: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    created = await createTestDatabase();
    const target = new URL(created.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });
  afterAll(async () => {
    await proxy?.close();
    await created?.drop();
  });

  it('six cuts and hangs under 8 concurrent writers: 503 database_unavailable while down, recovery after each, no 500, every answer audited', async () => {
    const viaProxy = new URL(created.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const platform = await TestPlatform.start({
      DATABASE_URL: viaProxy.toString(),
      AUDIT_REPLAY_INTERVAL_MS: '100',
      AUDIT_WRITE_TIMEOUT_MS: '2000',
    });
    const answers: Answer[] = [];
    const failures: string[] = [];
    const recoveries: Array<{ fault: 'cut' | 'hang'; recoveryMs: number; unavailable: number }> = [];
    let running = true;
    const waiters: Array<[(a: Answer) => boolean, number, () => void]> = [];
    /**
     * Resolves once `n` more answers matching `match` have come. Bounded (RECOVERY_BOUND_MS), so that a platform
     * that never recovers fails with the step it was stuck at, not with the test's timeout.
     */
    const more = (n: number, what: string, match: (a: Answer) => boolean = () => true) =>
      bounded(new Promise<void>((resolve) => waiters.push([match, n, resolve])), `${n} more answers ${what}`);
    const answered = (a: Answer) => {
      answers.push(a);
      for (const waiter of [...waiters]) {
        if (!waiter[0](a)) continue;
        waiter[1] -= 1;
        if (waiter[1] <= 0) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter[2]();
        }
      }
    };
    try {
      const token = await platform.userToken('bob');
      const writer = async () => {
        while (running) {
          let response: TestResponse;
          try {
            response = await platform.request('POST', '/billing/invoices', { token, body: invoiceBody });
          } catch (err) {
            // The platform closed the connection without an answer: a failure of this test.
            failures.push(String(err));
            continue;
          }
          answered({
            requestId: response.requestId,
            status: response.status,
            reason: response.body?.reason,
            retryAfter: response.headers.get('retry-after'),
            invoiceId: response.status === 201 ? response.body.id : undefined,
          });
        }
      };
      const writers = Array.from({ length: 8 }, writer);
      /** Asks readiness until it answers `status`, within RECOVERY_BOUND_MS. */
      const readiness = async (status: number, label: string) => {
        const deadline = performance.now() + RECOVERY_BOUND_MS;
        while ((await platform.request('GET', '/health/ready')).status !== status) {
          if (performance.now() > deadline)
            throw new Error(`readiness did not answer ${status} within ${RECOVERY_BOUND_MS} ms (${label})`);
        }
      };

      await more(40, 'created before the first fault', (a) => a.status === 201);
      for (let round = 0; round < 6; round++) {
        const fault = round % 2 === 0 ? 'cut' : 'hang';
        const before = answers.length;
        if (fault === 'cut') {
          proxy.cut();
          // Down for real: the writers meet it (8 refusals), and so does readiness.
          await more(8, `refused during fault ${round + 1}`, (a) => a.status === 503);
        } else {
          proxy.stall();
        }
        // A hang is seen by readiness only: its ping is bounded (2 s), the writers wait on their sockets.
        await readiness(503, `fault ${round + 1}, ${fault}`);
        proxy.restore();
        const restoredAt = performance.now();
        // Recovered: readiness answers 200 and a write is created again.
        const written = more(1, `created after fault ${round + 1}`, (a) => a.status === 201);
        written.catch(() => undefined); // awaited below; readiness may fail first
        await readiness(200, `recovery after fault ${round + 1}, ${fault}`);
        await written;
        recoveries.push({
          fault,
          recoveryMs: Math.round(performance.now() - restoredAt),
          unavailable: answers.slice(before).filter((a) => a.status === 503).length,
        });
        await more(16, `created after recovery ${round + 1}`, (a) => a.status === 201);
      }
      running = false;
      await Promise.all(writers);

      await auditBackInDatabase(platform);
      await platform.flushAudit();
      const records = await allRecords(platform);
      const access = new Map<string, number>();
      for (const row of records)
        if (row.kind === 'access') access.set(row.requestId, (access.get(row.requestId) ?? 0) + 1);
      const unaudited = answers.filter((a) => access.get(a.requestId) !== 1);
      const created201 = answers.filter((a) => a.status === 201);
      const stored = await invoiceIds(
        created.url,
        created201.map((a) => a.invoiceId as string),
      );
      const storedIds = new Set(stored);
      const withoutRow = created201.filter((a) => !storedIds.has(a.invoiceId as string));
      const statusCounts: Record<string, number> = {};
      for (const a of answers) statusCounts[a.status] = (statusCounts[a.status] ?? 0) + 1;
      const figures = {
        cuts: recoveries.filter((r) => r.fault === 'cut').length,
        hangs: recoveries.filter((r) => r.fault === 'hang').length,
        recoveryMs: recoveries.map((r) => `${r.fault}:${r.recoveryMs}`).join(' '),
        answered: answers.length,
        statuses: statusCounts,
        audited: answers.length - unaudited.length,
        lost: unaudited.length + withoutRow.length,
      };
      process.stdout.write(`\n[faults-database] ${JSON.stringify(figures)}\n`);

      expect(failures).toEqual([]);
      expect(recoveries).toHaveLength(6);
      expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
      const unavailable = answers.filter((a) => a.status === 503);
      expect(unavailable.length).toBeGreaterThanOrEqual(8 * 3);
      expect(unavailable.filter((a) => a.reason !== 'database_unavailable' || a.retryAfter !== '5')).toEqual([]);
      expect(answers.filter((a) => ![201, 503].includes(a.status))).toEqual([]);
      expect(unaudited).toEqual([]);
      expect(withoutRow).toEqual([]);
      expect(await unavailableCount(platform)).toBe(unavailable.length);
      expect(platform.logLines().some((l) => l.msg === 'Unhandled error')).toBe(false);
    } finally {
      running = false;
      await platform.close();
    }
    // No connection of the pool was left busy at shutdown (a leaked client kept it waiting, then logged).
    expect(
      platform.logLines().some((l) => l.msg === 'PostgreSQL connections still busy at shutdown: closing them'),
    ).toBe(false);
  }, 180_000);
});

/** The ids among `ids` that have a row in billing_invoices, read straight from the database (not through the relay). */
async function invoiceIds(url: string, ids: string[]): Promise<string[]> {
  return [...(await storedAfterClose({ dataDir: '', databaseUrl: url }, ids)).invoices];
}

/**
 * Access records per request id, and which of `invoiceIds` have a row, read straight from the
 * database a platform used (PostgreSQL by URL, else the PGlite folder under `dataDir`, once closed).
 */
async function storedAfterClose(
  target: { dataDir: string; databaseUrl?: string },
  invoiceIds: string[],
): Promise<{ access: Map<string, number>; invoices: Set<string> }> {
  const accessQuery = "select request_id from audit_records where kind = 'access'";
  const invoiceQuery = 'select id::text as id from billing_invoices where id = any($1::uuid[])';
  let accessRows: Array<{ request_id: string }>;
  let invoiceRows: Array<{ id: string }>;
  if (target.databaseUrl) {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      accessRows = (await client.query<{ request_id: string }>(accessQuery)).rows;
      invoiceRows = (await client.query<{ id: string }>(invoiceQuery, [invoiceIds])).rows;
    } finally {
      await client.end();
    }
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(path.join(target.dataDir, 'pglite'));
    try {
      accessRows = (await db.query<{ request_id: string }>(accessQuery)).rows;
      invoiceRows = (await db.query<{ id: string }>(invoiceQuery, [invoiceIds])).rows;
    } finally {
      await db.close();
    }
  }
  const access = new Map<string, number>();
  for (const { request_id: id } of accessRows) access.set(id, (access.get(id) ?? 0) + 1);
  return { access, invoices: new Set(invoiceRows.map((r) => r.id)) };
}

/**
 * A POST /billing/invoices on a keep-alive connection whose body is half sent: `arrived` resolves
 * when the platform has its headers (the request is in flight), `finish` sends the rest and
 * resolves with the answer.
 */
function heldRequest(platform: TestPlatform, token: string): { arrived: Promise<void>; finish: () => Promise<Answer> } {
  const body = Buffer.from(JSON.stringify(invoiceBody));
  const marker = `held-${process.hrtime.bigint()}`;
  const server = platform.running.app.getHttpServer();
  const arrived = new Promise<void>((resolve) => {
    const onRequest = (request: IncomingMessage) => {
      if (request.headers['x-test-held'] !== marker) return;
      server.off('request', onRequest);
      resolve();
    };
    server.on('request', onRequest);
  });
  const agent = new Agent({ keepAlive: true });
  let answer: (a: Answer) => void;
  let fail: (err: Error) => void;
  const answered = new Promise<Answer>((resolve, reject) => ((answer = resolve), (fail = reject)));
  const request = httpRequest(`${platform.url}/billing/invoices`, {
    method: 'POST',
    agent,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': String(body.length),
      'x-test-held': marker,
    },
  });
  request.on('error', (err) => fail(err));
  request.on('response', (response) => {
    let text = '';
    response.on('data', (chunk: Buffer) => (text += chunk.toString()));
    response.on('end', () => {
      agent.destroy();
      const parsed = JSON.parse(text) as { id?: string; reason?: string };
      answer({
        requestId: String(response.headers['x-request-id']),
        status: response.statusCode ?? 0,
        reason: parsed.reason,
        retryAfter: null,
        invoiceId: parsed.id,
        connection: response.headers.connection ?? null,
      });
    });
  });
  request.write(body.subarray(0, 10));
  return {
    arrived,
    finish: () => {
      request.end(body.subarray(10));
      return answered;
    },
  };
}
