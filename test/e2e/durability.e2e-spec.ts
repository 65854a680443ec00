import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditChainVerifier, AuditRepository, AuditWriter, type AuditRow } from '@platform/audit';
import { eventRowFor, type NewAuditRow } from '@platform/audit/testing';
import { DatabaseService } from '@platform/database';
import { canonicalJson } from '@platform/http';
import { IdempotencyRepository } from '@platform/idempotency';
import { PlatformMetrics } from '@platform/observability';
import { availableDatabases, TestPlatform } from '../support/test-platform';

/** Rows of one request, read from the table (not from the writer's queue). */
async function storedOf(
  platform: TestPlatform,
  requestId: string,
): Promise<Array<{ kind: string; event: string | null; status: number; resource_id: string | null }>> {
  const database = platform.running.app.get(DatabaseService);
  const result = (await database.db.execute(
    sql`select kind, event, status, resource_id from audit_records where request_id = ${requestId} order by id`,
  )) as {
    rows: Array<{ kind: string; event: string | null; status: number; resource_id: string | null }>;
  };
  return result.rows;
}

async function count(platform: TestPlatform, query: ReturnType<typeof sql>): Promise<number> {
  const result = (await platform.running.app.get(DatabaseService).db.execute(query)) as {
    rows: Array<{ n: number | string }>;
  };
  return Number(result.rows[0].n);
}

async function chainHolds(platform: TestPlatform): Promise<void> {
  const repository = platform.running.app.get(AuditRepository);
  const rows: AuditRow[] = [];
  for (
    let page = await repository.ascendingPage(0, 1000);
    page.length > 0;
    page = await repository.ascendingPage(rows[rows.length - 1].id, 1000)
  )
    rows.push(...page);
  expect(new AuditChainVerifier().check(rows)).toBeUndefined();
}

describe.each(availableDatabases())('AUDIT_DURABILITY=journal (the default) on %s', (database) => {
  let platform: TestPlatform;
  beforeAll(async () => {
    // Records would wait a minute in memory: only the write-ahead log can hold them at the response.
    platform = await TestPlatform.start({ AUDIT_FLUSH_INTERVAL_MS: '60000', AUDIT_BATCH_SIZE: '10000' }, database);
    // The start's own flush (journal replay, outbox) over: a record queued while it still ran would
    // be written by its next round, not held for the interval (a race on a loaded machine).
    await platform.flushAudit();
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('a response is sent once its access record is fsynced in the write-ahead log; the table gets it with the next batch', async () => {
    const denied = await platform.request('GET', '/billing/invoices');
    expect(denied.status).toBe(401);
    const dir = platform.running.config.audit.journalDir;
    const logged = readdirSync(dir)
      .filter((name) => name.startsWith('audit-wal-'))
      .map((name) => readFileSync(path.join(dir, name), 'utf8'))
      .join('');
    const lines = logged.split('\n').filter((line) => line.includes(denied.requestId));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ kind: 'access', status: 401, requestId: denied.requestId });
    // Not per request: the batch waits for the flush interval.
    expect(await storedOf(platform, denied.requestId)).toEqual([]);
    await platform.flushAudit();
    expect(await storedOf(platform, denied.requestId)).toMatchObject([{ kind: 'access', status: 401 }]);
  });
});

describe.each(availableDatabases())('durable records and crash-safe idempotency on %s', (database) => {
  let platform: TestPlatform;
  let bob: string;
  let invoiceId: string;
  beforeAll(async () => {
    // Records would wait a minute in memory if the response did not wait for them.
    platform = await TestPlatform.start(
      { AUDIT_DURABILITY: 'before-response', AUDIT_FLUSH_INTERVAL_MS: '60000', IDEMPOTENCY_LEASE_MS: '1000' },
      database,
    );
    bob = await platform.userToken('bob');
    const invoice = await platform.request('POST', '/billing/invoices', {
      token: bob,
      body: { customer: 'Durable', currency: 'EUR', lines: [{ description: 'x', quantity: 1, unitAmount: 100_000 }] },
    });
    invoiceId = invoice.body.id;
    await platform.request('POST', `/billing/invoices/${invoiceId}/open`, { token: bob });
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('a response is sent only once its access record is in the table (AUDIT_DURABILITY=before-response)', async () => {
    const read = await platform.request('GET', `/billing/invoices/${invoiceId}`, { token: bob });
    expect(read.status).toBe(200);
    expect(await storedOf(platform, read.requestId)).toMatchObject([{ kind: 'access', status: 200 }]);
    const denied = await platform.request('GET', '/billing/invoices');
    expect(denied.status).toBe(401);
    expect(await storedOf(platform, denied.requestId)).toMatchObject([{ kind: 'access', status: 401 }]);
  });

  it('the domain event commits with the change (audit_outbox) and is in the chain when the 201 arrives, with its status', async () => {
    const created = await platform.request('POST', '/billing/invoices', {
      token: bob,
      body: { customer: 'Outbox', currency: 'EUR', lines: [{ description: 'x', quantity: 1, unitAmount: 5 }] },
    });
    expect(created.status).toBe(201);
    const rows = await storedOf(platform, created.requestId);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'event',
          event: 'billing.invoice.created',
          status: 201,
          resource_id: created.body.id,
        }),
        expect.objectContaining({ kind: 'access', status: 201 }),
      ]),
    );
    expect(rows).toHaveLength(2);
    expect(await count(platform, sql`select count(*) as n from audit_outbox`)).toBe(0);
    // A refused change writes no event.
    const refused = await platform.request('POST', `/billing/invoices/${created.body.id}/void`, { token: bob });
    expect(refused.status).toBe(200);
    const again = await platform.request('POST', `/billing/invoices/${created.body.id}/void`, { token: bob });
    expect(again.status).toBe(409);
    expect((await storedOf(platform, again.requestId)).map((r) => r.kind)).toEqual(['access']);
    await chainHolds(platform);
  });

  it('events a crashed process committed but never chained are moved into the chain, once, in order', async () => {
    const database = platform.running.app.get(DatabaseService);
    const base: NewAuditRow = {
      recordId: randomUUID(),
      kind: 'access',
      traceId: null,
      occurredAt: new Date(),
      requestId: `crashed-${randomUUID()}`,
      decision: 'allow',
      reason: 'permission_granted',
      errorReason: null,
      subject: 'bob',
      principalType: 'user',
      clientId: null,
      tenant: 'acme',
      issuer: platform.issuer,
      app: 'billing',
      method: 'POST',
      route: '/billing/invoices',
      path: '/billing/invoices',
      requiredPermissions: ['billing:invoices:write'],
      status: 201,
      durationMs: 1.5,
      clientIp: '127.0.0.1',
      details: null,
    };
    const first = eventRowFor(base, 'billing.invoice.created', 'left-1');
    const second = eventRowFor(base, 'billing.invoice.created', 'left-2');
    await database.db.execute(
      sql`insert into audit_outbox (record) values (${JSON.stringify(first)}::jsonb), (${JSON.stringify(second)}::jsonb)`,
    );
    platform.running.app.get(AuditWriter).outboxWritten();
    await platform.flushAudit();
    expect((await storedOf(platform, base.requestId)).map((r) => r.resource_id)).toEqual(['left-1', 'left-2']);
    expect(await count(platform, sql`select count(*) as n from audit_outbox`)).toBe(0);
    await platform.flushAudit();
    expect(await storedOf(platform, base.requestId)).toHaveLength(2);
    await chainHolds(platform);
  });

  it('an outbox event the database refuses as data is set aside alone: the access record of the same flush is chained, the next flush is clean', async () => {
    const database = platform.running.app.get(DatabaseService);
    const writer = platform.running.app.get(AuditWriter);
    const metrics = platform.running.app.get(PlatformMetrics);
    const rejectedBefore = Number(
      /^platform_audit_records_rejected_total (\d+)$/m.exec((await metrics.exposition()).body)?.[1],
    );
    const requestId = `poisoned-outbox-${randomUUID()}`;
    const innocent: NewAuditRow = {
      recordId: randomUUID(),
      kind: 'access',
      traceId: null,
      occurredAt: new Date(),
      requestId,
      decision: null,
      reason: 'route_not_found',
      errorReason: null,
      subject: null,
      principalType: null,
      clientId: null,
      tenant: null,
      issuer: null,
      app: 'platform',
      method: 'GET',
      route: null,
      path: '/innocent',
      requiredPermissions: [],
      status: 404,
      durationMs: 0.5,
      clientIp: '127.0.0.1',
      details: null,
    };
    // A status no integer column holds (SQLSTATE 22003), then a good event behind it.
    const bad = eventRowFor({ ...innocent, status: 99_999_999_999 }, 'billing.invoice.created', 'poison');
    const good = eventRowFor(innocent, 'billing.invoice.created', 'after-poison');
    await database.db.execute(
      sql`insert into audit_outbox (record) values (${JSON.stringify(bad)}::jsonb), (${JSON.stringify(good)}::jsonb)`,
    );
    writer.outboxWritten();
    writer.record(innocent);
    await platform.flushAudit();
    expect(await storedOf(platform, requestId)).toEqual([
      expect.objectContaining({ kind: 'access', status: 404 }),
      expect.objectContaining({ kind: 'event', resource_id: 'after-poison' }),
    ]);
    expect(await count(platform, sql`select count(*) as n from audit_outbox`)).toBe(0);
    const rejected = readFileSync(path.join(platform.running.config.audit.journalDir, 'audit-rejected.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejected.filter((r) => r.record.requestId === requestId)).toMatchObject([
      { sqlstate: '22003', record: { recordId: bad.recordId } },
    ]);
    expect(Number(/^platform_audit_records_rejected_total (\d+)$/m.exec((await metrics.exposition()).body)?.[1])).toBe(
      rejectedBefore + 1,
    );
    await chainHolds(platform);
  });

  it('an Idempotency-Key left in progress by a dead process is 409 with Retry-After during its lease, then runs once', async () => {
    const key = `lease-${randomUUID()}`;
    const body = { amount: 100, currency: 'EUR' };
    const path = `/billing/invoices/${invoiceId}/payments`;
    const repository = platform.running.app.get(IdempotencyRepository);
    // As the interceptor computes it: method, path and canonical body.
    const requestHash = createHash('sha256')
      .update(`POST ${path}\n${canonicalJson(body)}`)
      .digest('hex');
    // The claim a process made just before it was killed: its lease still holds.
    const stale = await repository.claim({ tenant: 'acme', subject: 'bob' }, key, requestHash);
    expect(stale).toBeDefined();
    const during = await platform.request('POST', path, { token: bob, body, headers: { 'idempotency-key': key } });
    expect(during.status).toBe(409);
    expect(during.body.reason).toBe('idempotency_request_in_progress');
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // Its lease runs out (set in the past rather than waited for).
    const database = platform.running.app.get(DatabaseService);
    await database.db.execute(
      sql`update idempotency_keys set lease_expires_at = now() - interval '1 second' where key = ${key}`,
    );
    const retried = await platform.request('POST', path, { token: bob, body, headers: { 'idempotency-key': key } });
    expect(retried.status).toBe(201);
    expect((await platform.auditOf(retried.requestId)).details).toMatchObject({
      idempotency: 'retried_after_lease_expiry',
    });
    // The dead process's token can no longer complete the key (it was fenced off).
    expect(
      await repository.complete({ tenant: 'acme', subject: 'bob' }, key, stale as string, 201, { id: 'ghost' }),
    ).toBe(false);
    const replay = await platform.request('POST', path, { token: bob, body, headers: { 'idempotency-key': key } });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(retried.body);
    // The key's result was stored with the payment: one payment, one event.
    expect(await count(platform, sql`select count(*) as n from billing_payments where id = ${retried.body.id}`)).toBe(
      1,
    );
    expect(
      await count(
        platform,
        sql`select count(*) as n from idempotency_keys where key = ${key} and status = 'completed' and response_body->>'id' = ${retried.body.id}`,
      ),
    ).toBe(1);
    expect((await storedOf(platform, retried.requestId)).filter((r) => r.kind === 'event')).toMatchObject([
      { event: 'billing.payment.recorded', resource_id: retried.body.id, status: 201 },
    ]);
  });

  it('a lease taken over while its request still runs cannot commit: that run rolls back, no second payment', async () => {
    const key = `fenced-${randomUUID()}`;
    const owner = { tenant: 'acme', subject: 'bob' };
    const repository = platform.running.app.get(IdempotencyRepository);
    const database = platform.running.app.get(DatabaseService);
    const first = (await repository.claim(owner, key, 'h')) as string;
    // Still held: no take-over.
    expect(await repository.takeOver(owner, key, 'h')).toBeUndefined();
    await database.db.execute(
      sql`update idempotency_keys set lease_expires_at = now() - interval '1 second' where key = ${key}`,
    );
    // Another request body under the same key never takes it over.
    expect(await repository.takeOver(owner, key, 'other')).toBeUndefined();
    const second = await repository.takeOver(owner, key, 'h');
    expect(second).toBeDefined();
    // The first run reaches its commit: fenced off, inside a transaction that then rolls back.
    let committed = false;
    await database.db
      .transaction(async (tx) => {
        if (!(await repository.complete(owner, key, first, 201, { id: 'first' }, tx))) throw new Error('lease lost');
        committed = true;
      })
      .catch(() => undefined);
    expect(committed).toBe(false);
    expect(await repository.complete(owner, key, second as string, 201, { id: 'second' })).toBe(true);
    expect((await repository.find(owner, key))?.responseBody).toEqual({ id: 'second' });
  });
});

// A platform of its own: started after the suite above is done with its platform and tokens.
describe.each(
  availableDatabases().flatMap((database) =>
    (['before-response', 'journal'] as const).map((durability) => [database, durability] as const),
  ),
)('audit unavailable on %s, AUDIT_DURABILITY=%s', (database, durability) => {
  it('when neither the database nor the journal (nor the write-ahead log) takes records, responses are 503 audit_unavailable within 2 x AUDIT_WRITE_TIMEOUT_MS, not held', async () => {
    // A journal whose writes fail (ENOSPC, as a full disk), whoever runs the test (root ignores folder modes).
    const journalDir = mkdtempSync(path.join(tmpdir(), 'audit-journal-full-'));
    symlinkSync('/dev/full', path.join(journalDir, 'audit-journal.ndjson'));
    // `journal`: the first write-ahead log segment is full too, so responses fall back to waiting for the database.
    if (durability === 'journal') symlinkSync('/dev/full', path.join(journalDir, 'audit-wal-000000000001.ndjson'));
    // 1000 ms, not less: the start-up flush (outbox events) runs while Nest and Fastify still start
    // on the same thread; a loaded machine can hold its answer longer than a short limit, and a
    // write over the limit sends the writer to the (full) journal before the test begins.
    const stuck = await TestPlatform.start(
      {
        AUDIT_DURABILITY: durability,
        AUDIT_JOURNAL_DIR: journalDir,
        AUDIT_WRITE_TIMEOUT_MS: '1000',
        AUDIT_FLUSH_INTERVAL_MS: '60000',
      },
      database,
    );
    const auditTable = (name: string) =>
      sql.raw(
        `alter table ${name === 'audit_records' ? 'audit_records rename to audit_records_away' : 'audit_records_away rename to audit_records'}`,
      );
    const db = stuck.running.app.get(DatabaseService).db;
    try {
      expect((await stuck.request('GET', '/health/live')).status).toBe(200);
      // The database refuses every audit write (the table is gone), the journal cannot take them.
      await db.execute(auditTable('audit_records'));
      const journalling = new Promise<void>((resolve) =>
        stuck.running.app.get(AuditWriter).onTargetChange((t) => t === 'journal' && resolve()),
      );
      const refused = await Promise.all([
        stuck.request('GET', '/health/live'),
        stuck.request('GET', '/billing/invoices', { token: await stuck.userToken('bob') }),
      ]);
      await journalling;
      for (const response of refused) {
        expect(response.status).toBe(503);
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        expect(response.headers.get('retry-after')).toBe('5');
        expect(response.body).toMatchObject({
          status: 503,
          reason: 'audit_unavailable',
          type: 'urn:platform:problem:audit_unavailable',
          requestId: response.requestId,
        });
      }
      const metrics = (await stuck.running.app.get(PlatformMetrics).exposition()).body;
      expect(metrics).toMatch(/^platform_audit_unavailable_responses_total 2$/m);
      expect(
        stuck.logLines().filter((l) => l.msg === 'Audit record not durable in time: answered 503 audit_unavailable'),
      ).toHaveLength(2);
    } finally {
      await db.execute(auditTable('audit_records_away')).catch(() => undefined);
      await stuck.close();
      rmSync(journalDir, { recursive: true, force: true });
    }
  });
});
