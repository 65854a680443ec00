import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../support/test-issuer';
import { availableDatabases, TestPlatform, type TestResponse } from '../support/test-platform';

/**
 * Input hygiene (issue 13, "Why" 3): every client mistake that used to answer 500 now answers 400
 * problem+json naming the field, before any handler runs, through one shared mechanism
 * (libs/http/src/input-hygiene.ts and the global validation pipe's shape check); and exactly one
 * audit record is written for each.
 */
describe.each(availableDatabases())('input hygiene on %s', (database) => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  const invoice = {
    customer: 'Wayne Enterprises',
    currency: 'EUR',
    lines: [{ description: 'Seats', quantity: 1, unitAmount: 100 }],
  };
  const event = { name: 'signup', timestamp: '2026-11-30T10:00:00Z' };

  beforeAll(async () => {
    platform = await TestPlatform.start({}, database);
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = await platform.userToken(user);
    tokens.bot = await platform.clientToken('ingest-bot');
  });
  afterAll(() => platform?.close());

  /** Sends a raw JSON text (so lone surrogates and exact nesting survive) as `user`. */
  const send = (
    user: string | undefined,
    method: string,
    path: string,
    rawBody?: string,
    headers: Record<string, string> = {},
  ) =>
    platform.request(method, path, {
      token: user ? tokens[user] : undefined,
      rawBody,
      headers: rawBody === undefined ? headers : { 'content-type': 'application/json', ...headers },
    });

  /** A 400 problem+json whose `errors` name `path` (and where it was), with one audit record. */
  async function expectRefused(response: TestResponse, path: string, location?: string): Promise<void> {
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status: 400, reason: 'validation_failed' });
    expect(response.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path, ...(location && { in: location }) })]),
    );
    expect(JSON.stringify(response.body)).not.toMatch(/stack|at \w+ \(|SELECT|INSERT/);
    expect(await platform.auditCount(response.requestId)).toBe(1);
  }

  it('NUL in a body string (a customer, an event property, a key) is 400 naming the field', async () => {
    await expectRefused(
      await send('bob', 'POST', '/billing/invoices', JSON.stringify({ ...invoice, customer: 'a\u0000b' })),
      'customer',
      'body',
    );
    await expectRefused(
      await send(
        'bob',
        'POST',
        '/billing/invoices',
        JSON.stringify({ ...invoice, lines: [{ ...invoice.lines[0], description: 'x\u0000' }] }),
      ),
      'lines.0.description',
      'body',
    );
    await expectRefused(
      await send(
        'bot',
        'POST',
        '/analytics/events',
        JSON.stringify({ events: [{ ...event, properties: { plan: 'p\u0000' } }] }),
      ),
      'events.0.properties.plan',
      'body',
    );
    await expectRefused(
      await send(
        'bot',
        'POST',
        '/analytics/events',
        JSON.stringify({ events: [{ ...event, properties: { 'k\u0000': 1 } }] }),
      ),
      'events.0.properties.k\\u0000',
      'body',
    );
    await expectRefused(
      await send(
        'alice',
        'POST',
        '/service-accounts',
        JSON.stringify({ name: 'n\u0000', scopes: ['analytics:events:write'] }),
      ),
      'name',
      'body',
    );
  });

  it('a lone surrogate in a body string is 400 naming the field', async () => {
    await expectRefused(
      await send(
        'bob',
        'POST',
        '/billing/invoices',
        JSON.stringify({ ...invoice, customer: 'x' }).replace('"x"', '"\\ud800"'),
      ),
      'customer',
      'body',
    );
    await expectRefused(
      await send(
        'bot',
        'POST',
        '/analytics/events',
        JSON.stringify({ events: [{ ...event, properties: { plan: 'x' } }] }).replace('"x"', '"a\\udfffb"'),
      ),
      'events.0.properties.plan',
      'body',
    );
  });

  it('NUL in the query or in a path segment is 400 naming the parameter', async () => {
    await expectRefused(await send('alice', 'GET', '/platform/audit?subject=a%00b'), 'subject', 'query');
    await expectRefused(await send('alice', 'GET', '/platform/audit/export?event=%00'), 'event', 'query');
    const me = await send('carol', 'GET', '/users/me');
    await expectRefused(await send('alice', 'DELETE', `/users/${me.body.id}/roles/a%00b`), 'role', 'path');
    await expectRefused(await send('bob', 'GET', '/billing/invoices/%00'), 'id', 'path');
    // A URL cannot carry a lone surrogate: its percent-encoding (UTF-8 of U+D800) does not decode,
    // so the text is taken literally, never as a 5xx.
    const literal = await send('alice', 'GET', '/platform/audit?subject=%ED%A0%80');
    expect(literal.status).toBe(200);
    expect(literal.body.items).toEqual([]);
    expect((await send('alice', 'DELETE', `/users/${me.body.id}/roles/%ED%A0%80`)).status).toBeLessThan(500);
  });

  it('year 0000 (or any instant PostgreSQL and JavaScript cannot both hold) in from/to, timestamps and cursors is 400', async () => {
    const zero = '0000-01-01T00:00:00Z';
    await expectRefused(
      await send('alice', 'GET', `/analytics/usage?from=${zero}&to=2026-01-01T00:00:00Z`),
      'from',
      'query',
    );
    await expectRefused(await send('carol', 'GET', `/analytics/events/counts?to=${zero}`), 'to', 'query');
    await expectRefused(
      await send('carol', 'GET', `/analytics/events/series?name=x&from=${zero}&to=0000-01-02T00:00:00Z&interval=day`),
      'from',
      'query',
    );
    await expectRefused(await send('alice', 'GET', `/platform/audit?from=${zero}`), 'from', 'query');
    // An offset that moves a year-1 instant into year 0.
    await expectRefused(
      await send('alice', 'GET', `/platform/audit?to=${encodeURIComponent('0001-01-01T00:30:00+01:00')}`),
      'to',
      'query',
    );
    await expectRefused(
      await send('bot', 'POST', '/analytics/events', JSON.stringify({ events: [{ ...event, timestamp: zero }] })),
      'events.0.timestamp',
      'body',
    );
    // A cursor names an instant too: one this API cannot have issued is invalid_cursor, never a 500.
    const cursor = Buffer.from('0000-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000').toString('base64url');
    for (const path of [
      `/billing/invoices?cursor=${cursor}`,
      `/users?cursor=${cursor}`,
      `/service-accounts?cursor=${cursor}`,
    ]) {
      const response = await send(path.startsWith('/billing') ? 'bob' : 'alice', 'GET', path);
      expect(response.body, path).toMatchObject({ status: 400, reason: 'invalid_cursor' });
    }
    for (const bad of ['%00', 'not-base64!', Buffer.from('2026-01-01T00:00:00.000Z|x').toString('base64url')]) {
      expect((await send('bob', 'GET', `/billing/invoices?cursor=${bad}`)).status).toBe(400);
    }
  });

  it('arrays where objects belong (lines:[[]], events:[[]], a nested object as an array) are 400 naming the element', async () => {
    await expectRefused(
      await send('bob', 'POST', '/billing/invoices', JSON.stringify({ ...invoice, lines: [[]] })),
      'lines.0',
      'body',
    );
    await expectRefused(
      await send('bob', 'POST', '/billing/invoices', JSON.stringify({ ...invoice, lines: [[invoice.lines[0]]] })),
      'lines.0',
      'body',
    );
    await expectRefused(
      await send('bot', 'POST', '/analytics/events', JSON.stringify({ events: [[]] })),
      'events.0',
      'body',
    );
    await expectRefused(
      await send('bot', 'POST', '/analytics/events', JSON.stringify({ events: [event, 'x'] })),
      'events.1',
      'body',
    );
    await expectRefused(
      await send('bob', 'POST', '/billing/invoices', JSON.stringify({ ...invoice, lines: { 0: invoice.lines[0] } })),
      'lines',
      'body',
    );
    await expectRefused(await send('bob', 'POST', '/billing/invoices', JSON.stringify([invoice])), '', 'body');
  });

  it('JSON nested 3,000 deep (arrays or objects) is 400 at the depth limit, and so is an object with too many keys', async () => {
    const deepArray = '['.repeat(3000) + ']'.repeat(3000);
    const refusedArray = await send('bob', 'POST', '/billing/invoices', deepArray);
    await expectRefused(refusedArray, expect.stringMatching(/^0(\.0)+$/), 'body');
    const deepObject = '{"a":'.repeat(3000) + '1' + '}'.repeat(3000);
    await expectRefused(
      await send('bot', 'POST', '/analytics/events', deepObject),
      expect.stringMatching(/^a(\.a)+$/),
      'body',
    );
    const wide = JSON.stringify({
      events: [{ ...event, properties: Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, 1])) }],
    });
    await expectRefused(await send('bot', 'POST', '/analytics/events', wide), 'events.0.properties', 'body');
    // Within the limits, nesting is fine.
    const nested = JSON.stringify({
      events: [{ ...event, properties: JSON.parse('{"a":'.repeat(20) + '1' + '}'.repeat(20)) }],
    });
    expect((await send('bot', 'POST', '/analytics/events', nested)).status).toBe(202);
  });

  it('a signed webhook event whose id carries NUL is 400, before the handler', async () => {
    const body = JSON.stringify({
      id: 'evt_\u0000',
      type: 'payment.settled',
      data: { paymentId: '00000000-0000-4000-8000-000000000000' },
    });
    const t = Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', 'dev-only-webhook-signing-secret').update(`${t}.${body}`).digest('hex');
    await expectRefused(
      await send(undefined, 'POST', '/billing/webhooks/payments', body, {
        'platform-signature': `t=${t},v1=${signature}`,
      }),
      'id',
      'body',
    );
    // The same mistake in its nested data object: an array where the object belongs.
    const nested = JSON.stringify({ id: 'evt_nested', type: 'payment.settled', data: [[]] });
    const sig2 = createHmac('sha256', 'dev-only-webhook-signing-secret').update(`${t}.${nested}`).digest('hex');
    const refused = await send(undefined, 'POST', '/billing/webhooks/payments', nested, {
      'platform-signature': `t=${t},v1=${sig2}`,
    });
    expect(refused.status).toBe(400);
  });

  it('NUL in a header never reaches the platform: the HTTP parser answers 400 (why the hook walks no headers)', async () => {
    const { hostname, port } = new URL(platform.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () =>
        socket.end('GET /health/live HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u0000b\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('clean input still passes (a control: the checks refuse only what they name)', async () => {
    const created = await send(
      'bob',
      'POST',
      '/billing/invoices',
      JSON.stringify({ ...invoice, customer: 'Ünïcødé 😀 \t ok' }),
    );
    expect(created.status).toBe(201);
    expect(created.body.customer).toBe('Ünïcødé 😀 \t ok');
    expect(
      (await send('alice', 'GET', '/analytics/usage?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z')).status,
    ).toBe(200);
  });
});

describe('input hygiene of token claims', () => {
  let issuer: TestIssuer;
  let platform: TestPlatform;
  const AUD = 'platform-api';

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    issuer.addKey('k1');
    platform = await TestPlatform.start({ OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUD });
  });
  afterAll(async () => {
    await platform?.close();
    await issuer?.close();
  });

  it('a signed token whose sub (or any claim string) carries NUL or a lone surrogate is 401 malformed_claims', async () => {
    const claims = { aud: AUD, sub: 'user-1', roles: ['billing-manager'], tenant: 't1' };
    for (const [bad, claim] of [
      [{ sub: 'user\u0000-1' }, 'sub'],
      [{ sub: 'user\ud800' }, 'sub'],
      [{ tenant: 't\u00001' }, 'tenant'],
      [{ roles: ['billing-manager', 'x\u0000'] }, 'roles.1'],
      [{ act: { sub: 'agent\u0000' } }, 'act.sub'],
    ] as const) {
      const response = await platform.request('GET', '/billing/invoices', {
        token: issuer.sign({ ...claims, ...bad }),
      });
      expect(response.status, claim).toBe(401);
      expect(response.body).toMatchObject({ reason: 'malformed_claims' });
      const audit = await platform.auditOf(response.requestId);
      expect(audit).toMatchObject({ decision: 'deny', reason: 'malformed_claims', details: { claim } });
      expect(await platform.auditCount(response.requestId)).toBe(1);
    }
    expect((await platform.request('GET', '/billing/invoices', { token: issuer.sign(claims) })).status).toBe(200);
  });
});
