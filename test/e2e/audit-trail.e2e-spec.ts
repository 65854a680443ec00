import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUARD_FIXTURES } from '../support/fixture-controllers';
import { auditTable, runAuditVerify } from '../support/audit-table';
import { availableDatabases, TestPlatform, type TestResponse } from '../support/test-platform';

const invoiceBody = {
  customer: 'Wayne Enterprises',
  currency: 'EUR',
  lines: [{ description: 'Seats', quantity: 3, unitAmount: 1250 }],
};
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

/** The value of one sample of the Prometheus text exposition, or undefined when absent. */
function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe.each(availableDatabases())('the audit trail and observability on %s', (database) => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  /** Every request this suite sent, with the status it got. */
  const sent: TestResponse[] = [];
  const send = async (...args: Parameters<TestPlatform['request']>) => {
    const response = await platform.request(...args);
    sent.push(response);
    return response;
  };

  beforeAll(async () => {
    platform = await TestPlatform.start({ BODY_LIMIT_BYTES: '2048' }, database, [GUARD_FIXTURES]);
    for (const user of ['alice', 'bob', 'carol', 'dave', 'olivia']) tokens[user] = await platform.userToken(user);
    for (const client of ['ingest-bot', 'metrics-scraper']) tokens[client] = await platform.clientToken(client);
  });
  afterAll(() => platform?.close());

  it('mixed 2xx/4xx/5xx traffic leaves exactly one access record per request in the table, and one event per declared domain event', async () => {
    const expected: Array<[number, TestResponse]> = [
      [200, await send('GET', '/health/live')],
      [200, await send('GET', '/billing/invoices', { token: tokens.bob })],
      [401, await send('GET', '/billing/invoices')],
      [401, await send('GET', '/billing/invoices', { token: 'not-a-jwt' })],
      [403, await send('GET', '/billing/invoices', { token: tokens.carol })],
      [404, await send('GET', '/no/such/route', { token: tokens.bob })],
      [
        400,
        await send('POST', '/billing/invoices', { token: tokens.bob, body: { ...invoiceBody, currency: 'euros' } }),
      ],
      [
        400,
        await send('POST', '/billing/invoices', {
          token: tokens.bob,
          rawBody: '{"broken',
          headers: { 'content-type': 'application/json' },
        }),
      ],
      [
        413,
        await send('POST', '/analytics/events', {
          token: tokens['ingest-bot'],
          body: { events: [{ name: 'x'.repeat(4000), timestamp: '2026-11-30T10:00:00Z' }] },
        }),
      ],
      [500, await send('GET', '/fixtures/health/boom')],
      [201, await send('POST', '/billing/invoices', { token: tokens.bob, body: invoiceBody })],
      [
        202,
        await send('POST', '/analytics/events', {
          token: tokens['ingest-bot'],
          body: { events: [{ name: 'signup', timestamp: '2026-11-30T10:00:00Z' }] },
        }),
      ],
    ];
    expect(expected.map(([, r]) => r.status)).toEqual(expected.map(([status]) => status));
    await platform.flushAudit();
    const rows = await auditTable(platform);
    for (const [status, response] of expected) {
      const access = rows.filter((r) => r.request_id === response.requestId && r.kind === 'access');
      expect(access, `${status} ${response.requestId}`).toHaveLength(1);
      expect(access[0].status).toBe(status);
    }
    const created = expected[10][1];
    const events = rows.filter((r) => r.request_id === created.requestId && r.kind === 'event');
    expect(events.map((e) => e.event)).toEqual(['billing.invoice.created']);
    // A failed request declares no event: the 400s of the same route have none.
    expect(rows.filter((r) => r.request_id === expected[6][1].requestId && r.kind === 'event')).toHaveLength(0);

    const [event] = (
      await platform.request('GET', `/platform/audit?kind=event&requestId=${created.requestId}`, {
        token: tokens.olivia,
      })
    ).body.items;
    expect(event).toMatchObject({
      event: 'billing.invoice.created',
      resourceId: created.body.id,
      subject: 'bob',
      tenant: 'acme',
      app: 'billing',
      status: 201,
    });
  });

  it('records the acting client and the subject of a machine call', async () => {
    const response = await send('POST', '/analytics/events', {
      token: tokens['ingest-bot'],
      body: { events: [{ name: 'login', timestamp: '2026-11-30T10:00:00Z' }] },
    });
    const { items } = (
      await platform.request('GET', `/platform/audit?requestId=${response.requestId}`, { token: tokens.olivia })
    ).body;
    expect(items.find((r: { kind: string }) => r.kind === 'access')).toMatchObject({
      principalType: 'service',
      clientId: 'ingest-bot',
      subject: 'ingest-bot',
      tenant: 'acme',
    });
    expect(items.find((r: { kind: string }) => r.kind === 'event')).toMatchObject({
      event: 'analytics.events.ingested',
      clientId: 'ingest-bot',
    });
  });

  it('continues the caller W3C trace: the trace id is in the response, the audit record and the log line', async () => {
    const response = await send('GET', '/billing/invoices', {
      token: tokens.bob,
      headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
    });
    expect(response.headers.get('traceresponse')).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(await platform.auditOf(response.requestId)).toMatchObject({ traceId: TRACE_ID });
    const line = platform.logLines().find((l) => l.requestId === response.requestId);
    expect(line).toMatchObject({
      msg: 'request',
      traceId: TRACE_ID,
      subject: 'bob',
      app: 'billing',
      decision: 'allow',
      status: 200,
    });

    const fresh = await send('GET', '/health/live', { headers: { traceparent: 'garbage' } });
    const traceId = (await platform.auditOf(fresh.requestId)).traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.headers.get('traceresponse')).toContain(traceId);
  });

  it('filters by subject, client, tenant, app, decision, status and time range, pages with a cursor, and exports NDJSON', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const get = async (query: string, token = tokens.olivia) =>
      (await platform.request('GET', `/platform/audit?${query}`, { token })).body;

    const denied = await get('decision=deny&status=403&app=billing');
    expect(denied.items.length).toBeGreaterThan(0);
    for (const item of denied.items) expect(item).toMatchObject({ decision: 'deny', status: 403, app: 'billing' });
    const carol = (await get('subject=carol')).items;
    expect(carol.length).toBeGreaterThan(0);
    expect(carol.every((i: { subject: string }) => i.subject === 'carol')).toBe(true);
    const byClient = await get('client=ingest-bot');
    expect(byClient.items.length).toBeGreaterThan(0);
    expect(byClient.items.every((i: { clientId: string }) => i.clientId === 'ingest-bot')).toBe(true);
    expect(
      (await get(`from=${from}&to=${new Date(Date.now() + 60_000).toISOString()}&limit=500`)).items.length,
    ).toBeGreaterThanOrEqual(sent.length);
    expect((await get(`to=${from}`)).items).toHaveLength(0);
    expect(
      (await platform.request('GET', `/platform/audit?from=${from}&to=${from}`, { token: tokens.olivia })).body,
    ).toMatchObject({ status: 400, reason: 'invalid_time_range' });
    expect((await platform.request('GET', '/platform/audit?from=yesterday', { token: tokens.olivia })).status).toBe(
      400,
    );

    // The platform auditor sees requests that had no valid token (no tenant, no subject).
    const anonymous = sent.find((r) => r.status === 401) as TestResponse;
    expect((await get(`requestId=${anonymous.requestId}`)).items).toMatchObject([
      { decision: 'deny', reason: 'missing_token', subject: null, tenant: null },
    ]);

    // Pages follow each other without overlap.
    const first = await get('limit=3');
    const second = await get(`limit=3&cursor=${first.nextCursor}`);
    expect(first.items).toHaveLength(3);
    expect(second.items[0].id).toBeLessThan(first.items[2].id);

    // NDJSON export: every matching record, one JSON object per line, same filters.
    const exported = await fetch(`${platform.url}/platform/audit/export?app=billing&from=${from}`, {
      headers: { authorization: `Bearer ${tokens.olivia}` },
    });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await exported.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { app: string; id: number });
    const listed = await get(`app=billing&from=${from}&limit=500`);
    expect(lines.map((l) => l.id)).toEqual(listed.items.map((i: { id: number }) => i.id));
  });

  it('tenant admins read their own tenant only; the platform operator reads every tenant', async () => {
    const alice = (await platform.request('GET', '/platform/audit?limit=500', { token: tokens.alice })).body.items;
    expect(alice.length).toBeGreaterThan(0);
    expect(alice.every((i: { tenant: string }) => i.tenant === 'acme')).toBe(true);
    expect((await platform.request('GET', '/platform/audit?tenant=globex', { token: tokens.alice })).status).toBe(403);
    expect(
      (await platform.request('GET', '/platform/audit/export?tenant=globex', { token: tokens.alice })).status,
    ).toBe(403);
    expect((await platform.request('GET', '/platform/audit', { token: tokens.bob })).status).toBe(403);
    await send('GET', '/billing/invoices', { token: tokens.dave });
    const tenants = new Set(
      (await platform.request('GET', '/platform/audit?limit=500', { token: tokens.olivia })).body.items.map(
        (i: { tenant: string | null }) => i.tenant,
      ),
    );
    expect([...tenants]).toEqual(expect.arrayContaining(['acme', 'globex', null]));
  });

  it('redacts credentials from every log line: Authorization, Cookie, DPoP, tokens in the query, passwords in bodies', async () => {
    await send('POST', '/billing/invoices', {
      token: tokens.bob,
      body: { ...invoiceBody, password: 's3cr3t-pass', client_secret: 'k-123-secret' },
      headers: { cookie: 'session=cookie-value-42', dpop: 'dpop-proof-value-17' },
    });
    await send('GET', `/billing/invoices?access_token=${tokens.alice}`);
    const all = platform.logs.join('');
    for (const secret of [
      tokens.bob,
      tokens.alice,
      's3cr3t-pass',
      'k-123-secret',
      'cookie-value-42',
      'dpop-proof-value-17',
    ])
      expect(all).not.toContain(secret);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\./);
    // One line per request, with the fields operators search by.
    for (const response of sent.slice(-2)) {
      const lines = platform.logLines().filter((l) => l.msg === 'request' && l.requestId === response.requestId);
      expect(lines).toHaveLength(1);
      expect(Object.keys(lines[0])).toEqual(
        expect.arrayContaining(['requestId', 'traceId', 'app', 'status', 'decision']),
      );
    }
  });

  it('/metrics needs platform:metrics:read and shows the counters of the traffic above', async () => {
    expect((await platform.request('GET', '/metrics')).status).toBe(401);
    expect((await platform.request('GET', '/metrics', { token: tokens.carol })).status).toBe(403);
    await platform.flushAudit();
    const scraped = await platform.request('GET', '/metrics', { token: tokens['metrics-scraper'] });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toContain('text/plain');
    const text = scraped.body as string;
    const positive: Array<[string, Record<string, string>]> = [
      ['platform_http_requests_total', { app: 'billing', route: '/billing/invoices', method: 'GET', status: '200' }],
      ['platform_http_requests_total', { app: 'platform', route: 'unmatched', status: '404' }],
      ['platform_http_requests_total', { app: 'fixtures', status: '500' }],
      ['platform_http_request_duration_seconds_count', { app: 'billing', route: '/billing/invoices', status: '200' }],
      ['platform_authz_decisions_total', { app: 'billing', decision: 'allow', reason: 'permission_granted' }],
      ['platform_authz_decisions_total', { app: 'billing', decision: 'deny', reason: 'insufficient_permission' }],
      ['platform_token_failures_total', { reason: 'missing_token' }],
      ['platform_token_failures_total', { reason: 'malformed_token' }],
      ['platform_jwks_fetches_total', { cause: 'startup', outcome: 'ok' }],
      ['platform_audit_batches_written_total', { source: 'queue' }],
      ['platform_audit_records_written_total', {}],
    ];
    for (const [name, labels] of positive)
      expect(sample(text, name, labels), `${name} ${JSON.stringify(labels)}`).toBeGreaterThan(0);
    for (const name of [
      'platform_audit_queue_depth',
      'platform_audit_journal_depth',
      'platform_audit_journal_spilled_records_total',
      'platform_audit_journal_replayed_records_total',
      'platform_audit_records_dropped_total',
    ]) {
      expect(sample(text, name, {}), name).toBe(0);
    }
  });

  it('npm run audit:verify finds the chain intact, then names the one row edited in the table', async () => {
    for (let i = 0; i < 5; i++) await send('GET', '/health/live');
    await platform.running.close();
    const target = { dataDir: platform.running.config.dataDir, databaseUrl: platform.running.config.databaseUrl };
    // A mistyped folder is an error, not an empty, "intact" trail.
    const missing = await runAuditVerify({ dataDir: `${target.dataDir}-typo` });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no embedded database at');
    const intact = await runAuditVerify(target);
    expect(intact.stdout).toMatch(/audit chain intact: \d+ records checked/);
    expect(intact.code).toBe(0);

    const editSql = [
      'ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_update_delete',
      // A DBA who can bypass the append-only trigger changes one status code.
      'UPDATE audit_records SET status = status + 1 WHERE id = (SELECT id FROM audit_records ORDER BY id OFFSET 3 LIMIT 1) RETURNING id',
      'ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_update_delete',
    ];
    let edited: number;
    if (database === 'postgres') {
      const { Client } = await import('pg');
      const client = new Client({ connectionString: target.databaseUrl });
      await client.connect();
      const results = [];
      for (const statement of editSql) results.push(await client.query(statement));
      edited = Number(results[1].rows[0].id);
      await client.end();
    } else {
      const { PGlite } = await import('@electric-sql/pglite');
      const db = await PGlite.create(`${target.dataDir}/pglite`);
      const results = [];
      for (const statement of editSql) results.push(await db.query<{ id: number }>(statement));
      edited = Number(results[1].rows[0].id);
      await db.close();
    }
    const broken = await runAuditVerify(target);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`audit chain BROKEN at record id=${edited} `);
    expect(broken.stdout).toContain('content changed');

    // Removing a record and patching its successor's prev_hash to bridge the gap must not pass:
    // the successor's hash covers its prev_hash. Earlier in the chain than the edit above, so it is named first.
    const bridgeSql = [
      'ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_update_delete',
      'DELETE FROM audit_records WHERE id = (SELECT id FROM audit_records ORDER BY id OFFSET 1 LIMIT 1) RETURNING prev_hash',
      'UPDATE audit_records SET prev_hash = $1 WHERE id = (SELECT id FROM audit_records ORDER BY id OFFSET 1 LIMIT 1) RETURNING id',
      'ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_update_delete',
    ];
    let successor: number;
    if (database === 'postgres') {
      const { Client } = await import('pg');
      const client = new Client({ connectionString: target.databaseUrl });
      await client.connect();
      await client.query(bridgeSql[0]);
      const removed = await client.query<{ prev_hash: string }>(bridgeSql[1]);
      successor = Number((await client.query<{ id: number }>(bridgeSql[2], [removed.rows[0].prev_hash])).rows[0].id);
      await client.query(bridgeSql[3]);
      await client.end();
    } else {
      const { PGlite } = await import('@electric-sql/pglite');
      const db = await PGlite.create(`${target.dataDir}/pglite`);
      await db.query(bridgeSql[0]);
      const removed = await db.query<{ prev_hash: string }>(bridgeSql[1]);
      successor = Number((await db.query<{ id: number }>(bridgeSql[2], [removed.rows[0].prev_hash])).rows[0].id);
      await db.query(bridgeSql[3]);
      await db.close();
    }
    expect(successor).toBeLessThan(edited);
    const bridged = await runAuditVerify(target);
    expect(bridged.code).toBe(1);
    expect(bridged.stdout).toContain(`audit chain BROKEN at record id=${successor} `);
  }, 60_000);
});
