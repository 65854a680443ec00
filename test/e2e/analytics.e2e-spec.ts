import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { DatabaseService } from '@platform/database';
import { availableDatabases, TestPlatform } from '../support/test-platform';

describe.each(availableDatabases())('analytics end to end on %s', (database) => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  const as = (user: string, method: string, path: string, options: Parameters<TestPlatform['request']>[2] = {}) =>
    platform.request(method, path, { token: tokens[user], ...options });

  beforeAll(async () => {
    platform = await TestPlatform.start({}, database);
    for (const user of ['alice', 'carol', 'dave']) tokens[user] = await platform.userToken(user);
    tokens.bot = await platform.clientToken('ingest-bot');
  });
  afterAll(() => platform?.close());

  it('a bad event refuses the whole batch, naming the index and reason of each bad event; nothing is written', async () => {
    const name = `batch-${randomBytes(3).toString('hex')}`;
    const good = { name, timestamp: '2026-11-30T10:00:00Z' };
    const refused = await as('bot', 'POST', '/analytics/events', {
      body: {
        events: [
          good,
          { ...good, timestamp: '2999-01-01T00:00:00Z' },
          good,
          { ...good, properties: { blob: 'x'.repeat(9000) } },
        ],
      },
    });
    expect(refused.body).toMatchObject({
      status: 400,
      reason: 'invalid_events',
      invalidEvents: [
        { index: 1, reason: 'timestamp_in_future' },
        { index: 3, reason: 'properties_too_large' },
      ],
    });
    const malformed = await as('bot', 'POST', '/analytics/events', {
      body: { events: [good, { name: 'x', timestamp: 'yesterday' }] },
    });
    expect(malformed.body).toMatchObject({ status: 400, errors: [{ path: 'events.1.timestamp' }] });
    expect(
      (await as('bot', 'POST', '/analytics/events', { body: { events: Array.from({ length: 1001 }, () => good) } }))
        .status,
    ).toBe(400);
    // Dates that match the pattern but name no instant: 400, never a 500.
    for (const timestamp of ['2026-11-30T23:59:60Z', '2026-02-30T10:00:00Z']) {
      expect(
        (await as('bot', 'POST', '/analytics/events', { body: { events: [{ name, timestamp }] } })).body,
      ).toMatchObject({ status: 400, errors: [{ path: 'events.0.timestamp' }] });
    }
    expect(
      (
        await as(
          'carol',
          'GET',
          `/analytics/events/series?name=${name}&from=2026-02-30T00:00:00Z&to=2026-03-02T00:00:00Z&interval=day`,
        )
      ).status,
    ).toBe(400);
    expect((await as('carol', 'GET', `/analytics/events/counts?name=${name}`)).body.counts).toEqual([]);
  });

  it('stores each event of a batch as sent: columns, jsonb properties, timestamptz, defaults; 1 to 1,000 events', async () => {
    const name = `stored-${randomBytes(3).toString('hex')}`;
    const properties = { n: 1, big: 12345678901234, x: 1.5, s: 'é "q" \\ ✓', nested: { list: [1, 'a', null, true] } };
    const events = [
      { name, timestamp: '2026-11-30T12:00:00.123Z', properties, userId: 'u1' },
      { name, timestamp: '2026-11-30T13:30:00+02:00' },
      { name, timestamp: '2026-11-30T12:00:00.5Z', properties: {} },
    ];
    expect((await as('bot', 'POST', '/analytics/events', { body: { events } })).body).toEqual({ accepted: 3 });
    const db = platform.running.app.get(DatabaseService).db;
    const { rows } = (await db.execute(sql`
      select tenant, subject, client_id as "clientId", user_id as "userId",
        extract(epoch from occurred_at)::float8 * 1000 as "occurredAtMs",
        properties = ${JSON.stringify(properties)}::jsonb as "sameProperties", properties::text as "propertiesText",
        received_at > now() - interval '1 minute' as "receivedNow", pg_typeof(occurred_at)::text as "occurredAtType"
      from analytics_events where name = ${name} order by id`)) as { rows: Record<string, unknown>[] };
    const common = { clientId: 'ingest-bot', receivedNow: true, occurredAtType: 'timestamp with time zone' };
    expect(rows).toMatchObject([
      { ...common, userId: 'u1', occurredAtMs: Date.parse('2026-11-30T12:00:00.123Z'), sameProperties: true },
      { ...common, userId: null, occurredAtMs: Date.parse('2026-11-30T11:30:00Z'), propertiesText: '{}' },
      { ...common, userId: null, occurredAtMs: Date.parse('2026-11-30T12:00:00.500Z'), propertiesText: '{}' },
    ]);
    // Every row is the sender's, in the sender's tenant.
    expect(new Set(rows.map((r) => `${String(r.tenant)}/${String(r.subject)}`)).size).toBe(1);
    const many = Array.from({ length: 1000 }, (_, i) => ({
      name,
      timestamp: '2026-11-30T14:00:00Z',
      properties: { i },
    }));
    expect((await as('bot', 'POST', '/analytics/events', { body: { events: many } })).body).toEqual({ accepted: 1000 });
    expect((await as('carol', 'GET', `/analytics/events/counts?name=${name}`)).body.counts).toEqual([
      { name, count: 1003, uniqueUsers: 2 },
    ]);
  });

  it('counts events and unique users in hour and day buckets (UTC), per tenant', async () => {
    const name = `view-${randomBytes(3).toString('hex')}`;
    const at = (iso: string, userId: string) => ({ name, timestamp: iso, userId });
    expect(
      (
        await as('bot', 'POST', '/analytics/events', {
          body: {
            events: [
              at('2026-11-29T10:05:00Z', 'u1'),
              at('2026-11-29T10:55:00Z', 'u1'),
              at('2026-11-29T10:59:59+00:00', 'u2'),
              at('2026-11-29T11:00:00Z', 'u1'),
              at('2026-11-30T00:30:00+01:00', 'u3'),
            ],
          },
        })
      ).status,
    ).toBe(202);
    const hours = await as(
      'carol',
      'GET',
      `/analytics/events/series?name=${name}&from=2026-11-29T00:00:00Z&to=2026-11-30T00:00:00Z&interval=hour`,
    );
    expect(hours.body.buckets).toEqual([
      { start: '2026-11-29T10:00:00.000Z', count: 3, uniqueUsers: 2 },
      { start: '2026-11-29T11:00:00.000Z', count: 1, uniqueUsers: 1 },
      // 00:30+01:00 is 23:30 UTC on the 29th.
      { start: '2026-11-29T23:00:00.000Z', count: 1, uniqueUsers: 1 },
    ]);
    const days = await as(
      'carol',
      'GET',
      `/analytics/events/series?name=${name}&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&interval=day`,
    );
    expect(days.body.buckets).toEqual([{ start: '2026-11-29T00:00:00.000Z', count: 5, uniqueUsers: 3 }]);
    expect((await as('carol', 'GET', `/analytics/events/counts?name=${name}`)).body.counts).toEqual([
      { name, count: 5, uniqueUsers: 3 },
    ]);
    expect(
      (
        await as(
          'dave',
          'GET',
          `/analytics/events/series?name=${name}&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&interval=day`,
        )
      ).body.buckets,
    ).toEqual([]);
    expect(
      (
        await as(
          'carol',
          'GET',
          `/analytics/events/series?name=${name}&from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z&interval=hour`,
        )
      ).body,
    ).toMatchObject({ status: 400, reason: 'invalid_time_range' });
    expect(
      (
        await as(
          'carol',
          'GET',
          `/analytics/events/series?name=${name}&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&interval=week`,
        )
      ).status,
    ).toBe(400);
  });

  it("reports the tenant's API usage per app, route and decision from the audit trail (admins only)", async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    await as('carol', 'GET', '/billing/invoices');
    await as('carol', 'GET', '/analytics/events/counts');
    const to = new Date(Date.now() + 60_000).toISOString();
    const usage = await as('alice', 'GET', `/analytics/usage?from=${from}&to=${to}`);
    expect(usage.status).toBe(200);
    expect(usage.body.usage).toEqual(
      expect.arrayContaining([
        { app: 'billing', route: '/billing/invoices', decision: 'deny', requests: expect.any(Number) },
        { app: 'analytics', route: '/analytics/events/counts', decision: 'allow', requests: expect.any(Number) },
      ]),
    );
    const globex = await as('dave', 'GET', `/analytics/usage?from=${from}&to=${to}`);
    expect(globex.body.usage.some((u: { route: string }) => u.route === '/billing/invoices')).toBe(false);
    expect((await as('carol', 'GET', `/analytics/usage?from=${from}&to=${to}`)).status).toBe(403);
  });
});
