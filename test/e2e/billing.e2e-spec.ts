import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../apps/billing/src/webhooks/webhook-signature';
import { availableDatabases, TestPlatform, type TestResponse } from '../support/test-platform';

const SECRET = 'whsec-e2e-current-0123456789';
const PREVIOUS = 'whsec-e2e-previous-0123456789';
const invoiceBody = {
  customer: 'Wayne Enterprises',
  currency: 'EUR',
  lines: [{ description: 'Seats', quantity: 3, unitAmount: 1250 }],
};

describe.each(availableDatabases())('billing end to end on %s', (database) => {
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  const as = (user: string, method: string, path: string, options: Parameters<TestPlatform['request']>[2] = {}) =>
    platform.request(method, path, { token: tokens[user], ...options });
  /** Delivers a payment-provider event, signed like the provider does (over these exact bytes). */
  const deliver = (rawBody: string, options: { secret?: string; timestamp?: number; header?: string } = {}) => {
    const t = options.timestamp ?? Math.floor(Date.now() / 1000);
    const header = options.header ?? `t=${t},v1=${signWebhook(options.secret ?? SECRET, t, rawBody)}`;
    return platform.request('POST', '/billing/webhooks/payments', {
      rawBody,
      headers: { 'content-type': 'application/json', 'platform-signature': header },
    });
  };
  const event = (id: string, paymentId: string, type = 'payment.settled') =>
    `{\n  "id": "${id}",\n  "type": "${type}",\n  "data": { "paymentId": "${paymentId}" }\n}`;

  beforeAll(async () => {
    platform = await TestPlatform.start(
      { BILLING_WEBHOOK_SECRET: SECRET, BILLING_WEBHOOK_SECRET_PREVIOUS: PREVIOUS },
      database,
    );
    for (const user of ['alice', 'bob', 'carol', 'dave', 'olivia']) tokens[user] = await platform.userToken(user);
  });
  afterAll(() => platform?.close());

  it('plans are managed by platform operators and read by tenants; a tenant has one active subscription', async () => {
    expect(
      (
        await as('alice', 'POST', '/billing/plans', {
          body: { code: 'x', name: 'X', currency: 'EUR', amount: 1, interval: 'month' },
        })
      ).status,
    ).toBe(403);
    const plan = await as('olivia', 'POST', '/billing/plans', {
      body: { code: `pro-${randomUUID().slice(0, 8)}`, name: 'Pro', currency: 'EUR', amount: 4900, interval: 'month' },
    });
    expect(plan.status).toBe(201);
    expect(
      (
        await as('olivia', 'POST', '/billing/plans', {
          body: { code: plan.body.code, name: 'Again', currency: 'EUR', amount: 1, interval: 'year' },
        })
      ).body,
    ).toMatchObject({ status: 409, reason: 'plan_code_taken' });
    expect((await as('bob', 'GET', `/billing/plans/${plan.body.id}`)).body).toMatchObject({
      amount: 4900,
      active: true,
    });

    const subscribed = await as('bob', 'POST', '/billing/subscriptions', { body: { planId: plan.body.id } });
    expect(subscribed.status).toBe(201);
    expect((await as('bob', 'POST', '/billing/subscriptions', { body: { planId: plan.body.id } })).body).toMatchObject({
      status: 409,
      reason: 'subscription_exists',
    });
    expect((await as('dave', 'GET', `/billing/subscriptions/${subscribed.body.id}`)).status).toBe(404);
    expect((await as('bob', 'POST', `/billing/subscriptions/${subscribed.body.id}/cancel`)).body).toMatchObject({
      status: 'canceled',
    });
    expect((await as('bob', 'POST', `/billing/subscriptions/${subscribed.body.id}/cancel`)).body).toMatchObject({
      status: 409,
      reason: 'subscription_not_active',
    });

    expect((await as('olivia', 'POST', `/billing/plans/${plan.body.id}/archive`)).body).toMatchObject({
      active: false,
    });
    expect((await as('bob', 'POST', '/billing/subscriptions', { body: { planId: plan.body.id } })).body).toMatchObject({
      status: 409,
      reason: 'plan_archived',
    });
    expect((await as('bob', 'POST', '/billing/subscriptions', { body: { planId: randomUUID() } })).body).toMatchObject({
      status: 404,
      reason: 'plan_not_found',
    });
  });

  it('invoices follow draft -> open -> paid | void; illegal transitions are 409', async () => {
    const invoice = (await as('bob', 'POST', '/billing/invoices', { body: invoiceBody })).body;
    expect(invoice).toMatchObject({ status: 'draft', total: 3750 });
    expect(
      (
        await as('bob', 'POST', `/billing/invoices/${invoice.id}/payments`, {
          body: { amount: 100, currency: 'EUR' },
          headers: { 'idempotency-key': randomUUID() },
        })
      ).body,
    ).toMatchObject({ status: 409, reason: 'invoice_not_open' });
    expect((await as('bob', 'POST', `/billing/invoices/${invoice.id}/open`)).body).toMatchObject({ status: 'open' });
    expect((await as('bob', 'POST', `/billing/invoices/${invoice.id}/open`)).body).toMatchObject({
      status: 409,
      reason: 'invalid_transition',
      from: 'open',
      to: 'open',
    });
    expect((await as('bob', 'POST', `/billing/invoices/${invoice.id}/void`)).body).toMatchObject({ status: 'void' });
    expect((await as('bob', 'POST', `/billing/invoices/${invoice.id}/open`)).body).toMatchObject({
      status: 409,
      reason: 'invalid_transition',
      from: 'void',
    });
    expect((await as('dave', 'POST', `/billing/invoices/${invoice.id}/void`)).status).toBe(404);
    expect((await as('carol', 'POST', `/billing/invoices/${invoice.id}/void`)).status).toBe(403);
  });

  it('C27: payments need an Idempotency-Key; a retry returns the first response, another body is 422, concurrent duplicates make one payment', async () => {
    const invoice = (await as('bob', 'POST', '/billing/invoices', { body: invoiceBody })).body;
    await as('bob', 'POST', `/billing/invoices/${invoice.id}/open`);
    const pay = (body: unknown, key?: string, user = 'bob') =>
      as(user, 'POST', `/billing/invoices/${invoice.id}/payments`, {
        body,
        headers: key === undefined ? {} : { 'idempotency-key': key },
      });
    const key = randomUUID();

    const first = await pay({ amount: 1000, currency: 'EUR' }, key);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ amount: 1000, status: 'pending' });
    const retry = await pay({ currency: 'EUR', amount: 1000 }, key);
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await pay({ amount: 9999, currency: 'EUR' }, key)).body).toMatchObject({
      status: 422,
      reason: 'idempotency_key_reused',
    });
    // Another tenant's principal with the same key sees nothing of bob's response.
    expect((await pay({ amount: 1000, currency: 'EUR' }, key, 'dave')).body).toMatchObject({
      status: 404,
      reason: 'invoice_not_found',
    });
    expect((await pay({ amount: 1000, currency: 'EUR' })).body).toMatchObject({
      status: 400,
      reason: 'idempotency_key_required',
    });
    expect((await pay({ amount: 1000, currency: 'EUR' }, 'k'.repeat(300))).body).toMatchObject({
      status: 400,
      reason: 'idempotency_key_invalid',
    });

    const concurrentKey = randomUUID();
    const concurrent = await Promise.all([
      pay({ amount: 500, currency: 'EUR' }, concurrentKey),
      pay({ amount: 500, currency: 'EUR' }, concurrentKey),
    ]);
    const created = concurrent.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const response of concurrent) expect([201, 409]).toContain(response.status);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);

    const listed = (await as('bob', 'GET', `/billing/invoices/${invoice.id}/payments`)).body.items;
    expect(listed.map((p: { amount: number }) => p.amount).sort()).toEqual([1000, 500].sort());
    expect((await pay({ amount: 100, currency: 'USD' }, randomUUID())).body).toMatchObject({
      status: 422,
      reason: 'currency_mismatch',
    });
    expect((await pay({ amount: 2251, currency: 'EUR' }, randomUUID())).body).toMatchObject({
      status: 422,
      reason: 'amount_exceeds_balance',
      balance: 2250,
    });

    // One domain event for the payment, however often it was retried; outcomes in the access records.
    await platform.flushAudit();
    const events = platform.audit.filter((r) => r.kind === 'event' && r.resourceId === first.body.id);
    expect(events.map((e) => e.event)).toEqual(['billing.payment.recorded']);
    expect((await platform.auditOf(retry.requestId)).details).toMatchObject({ idempotency: 'replayed' });
  });

  it('C28: the signed webhook settles payments once; forged, stale and malformed deliveries are refused; the invoice becomes paid', async () => {
    const invoice = (await as('bob', 'POST', '/billing/invoices', { body: invoiceBody })).body;
    await as('bob', 'POST', `/billing/invoices/${invoice.id}/open`);
    const payment = (
      await as('bob', 'POST', `/billing/invoices/${invoice.id}/payments`, {
        body: { amount: 3750, currency: 'EUR' },
        headers: { 'idempotency-key': randomUUID() },
      })
    ).body;
    const body = event(`evt_${randomUUID()}`, payment.id);

    const forged = await deliver(body, { secret: 'not-the-secret-at-all' });
    expect(forged.body).toMatchObject({ status: 400, reason: 'invalid_signature' });
    expect(await platform.auditOf(forged.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'invalid_signature',
      details: { authentication: 'webhook_signature' },
    });
    expect(
      (
        await deliver(JSON.stringify(JSON.parse(body)), {
          header: `t=${Math.floor(Date.now() / 1000)},v1=${signWebhook(SECRET, Math.floor(Date.now() / 1000), body)}`,
        })
      ).body,
    ).toMatchObject({ reason: 'invalid_signature' });
    expect((await deliver(body, { timestamp: Math.floor(Date.now() / 1000) - 600 })).body).toMatchObject({
      status: 400,
      reason: 'timestamp_outside_tolerance',
    });
    expect((await deliver(body, { header: 't=abc,v1=zz' })).body).toMatchObject({
      status: 400,
      reason: 'malformed_signature',
    });
    expect(
      (
        await platform.request('POST', '/billing/webhooks/payments', {
          rawBody: body,
          headers: { 'content-type': 'application/json' },
        })
      ).body,
    ).toMatchObject({ reason: 'missing_signature' });
    expect((await deliver('{"id":"evt_x","type":"refund"}')).body).toMatchObject({
      status: 400,
      reason: 'invalid_event',
    });
    expect((await as('bob', 'GET', `/billing/invoices/${invoice.id}`)).body.status).toBe('open');

    const settled = await deliver(body);
    expect(settled.status).toBe(200);
    expect(settled.body).toMatchObject({ received: true, duplicate: false, outcome: 'applied' });
    expect(await platform.auditOf(settled.requestId)).toMatchObject({
      decision: 'allow',
      reason: 'webhook_signature_valid',
    });
    const settledEvent = (
      await as(
        'alice',
        'GET',
        `/platform/audit?kind=event&event=billing.payment.settled&requestId=${settled.requestId}`,
      )
    ).body.items;
    expect(settledEvent).toMatchObject([{ tenant: 'acme', resourceId: payment.id, app: 'billing' }]);
    const replayed = await deliver(body);
    expect(replayed.body).toMatchObject({ received: true, duplicate: true });
    expect((await as('bob', 'GET', `/billing/invoices/${invoice.id}/payments`)).body.items).toMatchObject([
      { id: payment.id, status: 'settled' },
    ]);
    expect((await as('bob', 'GET', `/billing/invoices/${invoice.id}`)).body.status).toBe('paid');
    expect((await as('bob', 'POST', `/billing/invoices/${invoice.id}/void`)).body).toMatchObject({
      status: 409,
      reason: 'invalid_transition',
      from: 'paid',
    });
  });

  it('two payments settled at the same moment that together cover the total make the invoice paid; an invoice with payments cannot be voided', async () => {
    const invoice = (await as('bob', 'POST', '/billing/invoices', { body: invoiceBody })).body;
    await as('bob', 'POST', `/billing/invoices/${invoice.id}/open`);
    const pay = async (amount: number) =>
      (
        await as('bob', 'POST', `/billing/invoices/${invoice.id}/payments`, {
          body: { amount, currency: 'EUR' },
          headers: { 'idempotency-key': randomUUID() },
        })
      ).body;
    const [first, second] = [await pay(2000), await pay(1750)];
    expect((await as('bob', 'POST', `/billing/invoices/${invoice.id}/void`)).body).toMatchObject({
      status: 409,
      reason: 'invoice_has_payments',
    });
    // A provider's event with fields this API does not use is still processed.
    const settle = (paymentId: string) =>
      deliver(
        `{"id":"evt_${randomUUID()}","type":"payment.settled","created":1764500000,"livemode":false,"data":{"paymentId":"${paymentId}","amount":1}}`,
      );
    const settled = await Promise.all([settle(first.id), settle(second.id)]);
    expect(settled.map((r) => r.body.outcome)).toEqual(['applied', 'applied']);
    expect((await as('bob', 'GET', `/billing/invoices/${invoice.id}`)).body.status).toBe('paid');
  });

  it('accepts the previous signing secret during a rotation (both listed), with several v1 entries', async () => {
    const invoice = (await as('bob', 'POST', '/billing/invoices', { body: invoiceBody })).body;
    await as('bob', 'POST', `/billing/invoices/${invoice.id}/open`);
    const payment = (
      await as('bob', 'POST', `/billing/invoices/${invoice.id}/payments`, {
        body: { amount: 10, currency: 'EUR' },
        headers: { 'idempotency-key': randomUUID() },
      })
    ).body;
    const body = event(`evt_${randomUUID()}`, payment.id, 'payment.failed');
    const t = Math.floor(Date.now() / 1000);
    const response: TestResponse = await deliver(body, {
      header: `t=${t},v1=${'00'.repeat(32)},v1=${signWebhook(PREVIOUS, t, body)}`,
    });
    expect(response.body).toMatchObject({ outcome: 'applied' });
    expect((await as('bob', 'GET', `/billing/invoices/${invoice.id}/payments`)).body.items).toMatchObject([
      { status: 'failed' },
    ]);
  });
});
