import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableDatabases, TestPlatform } from '../support/test-platform';

const invoiceBody = {
  customer: 'Wayne Enterprises',
  currency: 'EUR',
  lines: [{ description: 'Seats', quantity: 3, unitAmount: 1250 }],
};

describe.each(availableDatabases())('the platform end to end on %s, with the development provider', (database) => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    platform = await TestPlatform.start({}, database);
    for (const user of ['alice', 'bob', 'carol', 'dave']) tokens[user] = await platform.userToken(user);
    tokens['ingest-bot'] = await platform.clientToken('ingest-bot');
  });
  afterAll(() => platform?.close());

  it('serves the public health probes', async () => {
    expect((await platform.request('GET', '/health/live')).status).toBe(200);
    const ready = await platform.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.info).toMatchObject({ database: { status: 'up', driver: database }, issuer: { status: 'up' } });
  });

  it('bob lists and creates invoices; the total is computed in minor units', async () => {
    const created = await platform.request('POST', '/billing/invoices', { token: tokens.bob, body: invoiceBody });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      customer: 'Wayne Enterprises',
      currency: 'EUR',
      total: 3750,
      status: 'draft',
      createdBy: 'bob',
    });
    const list = await platform.request('GET', '/billing/invoices', { token: tokens.bob });
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(created.body.id);
    const one = await platform.request('GET', `/billing/invoices/${created.body.id}`, { token: tokens.bob });
    expect(one.status).toBe(200);
    expect(one.body.lines).toEqual([{ description: 'Seats', quantity: 3, unitAmount: 1250, amount: 3750 }]);
    const audit = await platform.auditOf(created.requestId);
    expect(audit).toMatchObject({
      decision: 'allow',
      reason: 'permission_granted',
      subject: 'bob',
      tenant: 'acme',
      app: 'billing',
      status: 201,
    });
  });

  it('a client-sent total is refused, not trusted', async () => {
    const response = await platform.request('POST', '/billing/invoices', {
      token: tokens.bob,
      body: { ...invoiceBody, total: 1 },
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: 'total', messages: ['property total should not exist'] }]);
  });

  it('carol (analyst) gets 403 on invoices; the denial is audited with the missing permission', async () => {
    const response = await platform.request('GET', '/billing/invoices', { token: tokens.carol });
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({
      status: 403,
      reason: 'insufficient_permission',
      missingPermissions: ['billing:invoices:read'],
    });
    expect(await platform.auditOf(response.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_permission',
      subject: 'carol',
      requiredPermissions: ['billing:invoices:read'],
      status: 403,
    });
  });

  it('ingest-bot posts events, and gets 403 insufficient_scope on subscriptions, scope_not_granted on invoices', async () => {
    const posted = await platform.request('POST', '/analytics/events', {
      token: tokens['ingest-bot'],
      body: {
        events: [
          { name: 'signup', timestamp: '2026-11-30T10:00:00Z', properties: { plan: 'pro' } },
          { name: 'signup', timestamp: '2026-11-30T11:00:00Z' },
        ],
      },
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toEqual({ accepted: 2 });
    expect(await platform.auditOf(posted.requestId)).toMatchObject({
      decision: 'allow',
      principalType: 'service',
      clientId: 'ingest-bot',
      tenant: 'acme',
    });

    const denied = await platform.request('POST', '/billing/invoices', { token: tokens['ingest-bot'], body: {} });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toBe(
      'Bearer realm="platform", error="insufficient_scope", scope="billing:invoices:write"',
    );
    expect(denied.body.reason).toBe('insufficient_scope');
    // Its token carries billing:invoices:read (the provider allows it), but acme never granted it.
    expect((await platform.request('GET', '/billing/invoices', { token: tokens['ingest-bot'] })).body.reason).toBe(
      'scope_not_granted',
    );
  });

  it('carol reads event counts of her tenant only', async () => {
    await platform.request('POST', '/analytics/events', {
      token: tokens['ingest-bot'],
      body: { events: [{ name: 'login', timestamp: '2026-11-29T10:00:00Z' }] },
    });
    const counts = await platform.request(
      'GET',
      '/analytics/events/counts?from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z',
      { token: tokens.carol },
    );
    expect(counts.status).toBe(200);
    expect(counts.body.counts).toEqual([{ name: 'signup', count: 2, uniqueUsers: 1 }]);
    const globex = await platform.request('GET', '/analytics/events/counts', { token: tokens.dave });
    expect(globex.body.counts).toEqual([]);
    const byName = await platform.request('GET', '/analytics/events/counts?name=login', { token: tokens.carol });
    expect(byName.body.counts).toEqual([{ name: 'login', count: 1, uniqueUsers: 1 }]);
  });

  it('dave (globex admin) gets 404 on an acme invoice, and an empty list', async () => {
    const created = await platform.request('POST', '/billing/invoices', { token: tokens.bob, body: invoiceBody });
    const response = await platform.request('GET', `/billing/invoices/${created.body.id}`, { token: tokens.dave });
    expect(response.status).toBe(404);
    expect(response.body.reason).toBe('invoice_not_found');
    expect(await platform.auditOf(response.requestId)).toMatchObject({
      decision: 'allow',
      tenant: 'globex',
      status: 404,
      errorReason: 'invoice_not_found',
    });
    const list = await platform.request('GET', '/billing/invoices', { token: tokens.dave });
    expect(list.body.items).toEqual([]);
  });

  it('user-management: /users/me provisions the caller; /users is for admins and stays in the tenant', async () => {
    const me = await platform.request('GET', '/users/me', { token: tokens.bob });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ subject: 'bob', tenant: 'acme', type: 'user' });
    const again = await platform.request('GET', '/users/me', { token: tokens.bob });
    expect(again.body.id).toBe(me.body.id);
    await platform.request('GET', '/users/me', { token: tokens.dave });

    expect((await platform.request('GET', '/users', { token: tokens.bob })).status).toBe(403);
    const list = await platform.request('GET', '/users', { token: tokens.alice });
    expect(list.status).toBe(200);
    const subjects = list.body.items.map((u: { subject: string }) => u.subject);
    expect(subjects).toContain('bob');
    expect(subjects).not.toContain('dave');
  });

  it.each([
    ['GET', '/billing/invoices'],
    ['POST', '/billing/invoices'],
    ['GET', '/analytics/events/counts'],
    ['POST', '/analytics/events'],
    ['GET', '/users/me'],
    ['GET', '/users'],
    ['GET', '/platform/audit'],
  ])('%s %s without a token: 401 with a Bearer challenge, audited', async (method, path) => {
    const response = await platform.request(method, path, method === 'POST' ? { body: {} } : {});
    expect(response.status).toBe(401);
    // No credential: both schemes are offered (RFC 6750 section 3, RFC 9449 section 7.2).
    // RFC 9728 section 5.1: each challenge names the protected resource metadata.
    const rm = `resource_metadata="${platform.url}/.well-known/oauth-protected-resource"`;
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="platform", ${rm}, DPoP algs="ES256 ES384 PS256 RS256 EdDSA", ${rm}`,
    );
    expect(response.body).toMatchObject({
      status: 401,
      reason: 'missing_token',
      type: 'urn:platform:problem:missing_token',
    });
    expect(await platform.auditCount(response.requestId)).toBe(1);
    expect(await platform.auditOf(response.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'missing_token',
      subject: null,
    });
  });

  it('an unknown route is 404 problem+json and still audited once', async () => {
    const response = await platform.request('GET', '/billing/nothing-here', { token: tokens.bob });
    expect(response.status).toBe(404);
    expect(response.body.reason).toBe('not_found');
    expect(await platform.auditCount(response.requestId)).toBe(1);
    expect(await platform.auditOf(response.requestId)).toMatchObject({
      decision: null,
      reason: 'route_not_found',
      app: 'billing',
      status: 404,
    });
  });

  it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
    const kept = await platform.request('GET', '/health/live', { headers: { 'x-request-id': 'trace-123.abc' } });
    expect(kept.requestId).toBe('trace-123.abc');
    const replaced = await platform.request('GET', '/health/live', {
      headers: { 'x-request-id': `<script>${'x'.repeat(200)}` },
    });
    expect(replaced.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lists page with a cursor: every invoice exactly once, even within one millisecond', async () => {
    const fresh = await platform.userToken('bob');
    const before = await platform.request('GET', '/billing/invoices?limit=200', { token: fresh });
    const created = await Promise.all(
      Array.from({ length: 5 }, () =>
        platform.request('POST', '/billing/invoices', { token: fresh, body: invoiceBody }),
      ),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await platform.request(
        'GET',
        `/billing/invoices?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: fresh },
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((i) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(before.body.items.length + 5);
    expect(new Set(seen).size).toBe(seen.length);
    for (const c of created) expect(seen).toContain(c.body.id);
  });

  it.each([
    [
      'a forged cursor',
      'GET',
      '/billing/invoices?cursor=' + Buffer.from('2026-01-01T00:00:00.000Z|not-a-uuid').toString('base64url'),
      'bob',
      undefined,
      400,
    ],
    [
      'a cursor with an absurd date',
      'GET',
      '/users?cursor=' +
        Buffer.from('-200000-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000').toString('base64url'),
      'alice',
      undefined,
      400,
    ],
    ['a page size over the bound', 'GET', '/billing/invoices?limit=201', 'bob', undefined, 400],
    ['an audit cursor beyond any id', 'GET', '/platform/audit?cursor=1e20', 'alice', undefined, 400],
    [
      'a week-date timestamp',
      'POST',
      '/analytics/events',
      'ingest-bot',
      { events: [{ name: 'x', timestamp: '2026-W05-3T00:00:00Z' }] },
      400,
    ],
    [
      'a timestamp without a zone',
      'POST',
      '/analytics/events',
      'ingest-bot',
      { events: [{ name: 'x', timestamp: '2026-11-30T12:00:00' }] },
      400,
    ],
    ['an ordinal-date range', 'GET', '/analytics/events/counts?from=2026-123T00:00:00Z', 'carol', undefined, 400],
    [
      'a range that ends before it starts',
      'GET',
      '/analytics/events/counts?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z',
      'carol',
      undefined,
      400,
    ],
    ['a lower-case currency', 'POST', '/billing/invoices', 'bob', { ...invoiceBody, currency: 'eur' }, 400],
    ['an unknown currency', 'POST', '/billing/invoices', 'bob', { ...invoiceBody, currency: 'XYZ' }, 400],
    ['a malformed invoice id', 'GET', '/billing/invoices/not-a-uuid', 'bob', undefined, 400],
  ])('%s is a 400 problem, never a 500', async (_name, method, pathname, who, body, status) => {
    const response = await platform.request(method, pathname, { token: tokens[who], body });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('a body that is not JSON is 415', async () => {
    const response = await platform.request('POST', '/billing/invoices', {
      token: tokens.bob,
      rawBody: 'hi',
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(415);
    expect(response.body.reason).toBe('unsupported_media_type');
  });

  it('alice reads the audit trail of acme, sees the denials, and nothing of globex', async () => {
    const carol = await platform.request('GET', '/billing/invoices', { token: tokens.carol });
    const bot = await platform.request('GET', '/billing/invoices', { token: tokens['ingest-bot'] });
    await platform.request('GET', '/billing/invoices', { token: tokens.dave });
    await Promise.all([platform.auditOf(carol.requestId), platform.auditOf(bot.requestId)]);

    const response = await platform.request('GET', '/platform/audit?decision=deny', { token: tokens.alice });
    expect(response.status).toBe(200);
    const ids = response.body.items.map((r: { requestId: string }) => r.requestId);
    expect(ids).toEqual(expect.arrayContaining([carol.requestId, bot.requestId]));
    expect(
      response.body.items.every(
        (r: { decision: string; tenant: string }) => r.decision === 'deny' && r.tenant === 'acme',
      ),
    ).toBe(true);
    // Read back from the database: arrays, JSON and order survive the batched write.
    const carolRow = response.body.items.find((r: { requestId: string }) => r.requestId === carol.requestId);
    expect(carolRow).toMatchObject({
      requiredPermissions: ['billing:invoices:read'],
      details: { missing: ['billing:invoices:read'] },
      status: 403,
      method: 'GET',
      route: '/billing/invoices',
      principalType: 'user',
      clientId: 'platform-cli',
    });
    const rowIds = response.body.items.map((r: { id: number }) => r.id);
    expect(rowIds).toEqual([...rowIds].sort((a: number, b: number) => b - a));

    const bySubject = await platform.request('GET', '/platform/audit?subject=carol', { token: tokens.alice });
    expect(bySubject.body.items.length).toBeGreaterThan(0);
    expect(bySubject.body.items.every((r: { subject: string }) => r.subject === 'carol')).toBe(true);

    expect((await platform.request('GET', '/platform/audit', { token: tokens.bob })).status).toBe(403);
    expect((await platform.request('GET', '/platform/audit?tenant=globex', { token: tokens.alice })).status).toBe(403);
  });

  it('writes one audit row per request to the database, append-only', async () => {
    const response = await platform.request('GET', '/billing/invoices', { token: tokens.bob });
    await platform.auditOf(response.requestId);
    const trail = await platform.request('GET', `/platform/audit?subject=bob&limit=500`, { token: tokens.alice });
    expect(trail.body.items.filter((r: { requestId: string }) => r.requestId === response.requestId)).toHaveLength(1);
    const { DatabaseService } = await import('@platform/database');
    const { sql } = await import('drizzle-orm');
    const db = platform.running.app.get(DatabaseService).db;
    const refusal = (err: Error & { cause?: Error }) => /append-only/.test(err.cause?.message ?? err.message);
    await expect(db.execute(sql`update audit_records set status = 200`)).rejects.toSatisfy(refusal);
    await expect(db.execute(sql`delete from audit_records`)).rejects.toSatisfy(refusal);
  });
});
